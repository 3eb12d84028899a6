package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// handleHealthz answers 200 while the process runs.
func (s *Server) handleHealthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz answers 200 once every layer is loaded, 503 before.
func (s *Server) handleReadyz(c echo.Context) error {
	cat, err := s.Catalog()
	if err != nil {
		return err
	}
	counts := map[string]int{}
	for _, l := range cat.Layers() {
		counts[l.ID] = l.Snapshot().Len()
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ready", "layers": counts})
}
