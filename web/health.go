package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// handleHealthz answers 200 while the process runs.
func (s *Server) handleHealthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz answers 200 once every layer is loaded, 503 before. The
// counts are what the reader may see, so they reveal no hidden reports.
func (s *Server) handleReadyz(c echo.Context) error {
	cat, err := s.Catalog()
	if err != nil {
		return err
	}
	v := s.viewOf(c)
	counts := map[string]int{}
	for _, l := range cat.Layers() {
		vis, err := s.visible(c, v, l)
		if err != nil {
			return err
		}
		counts[l.ID] = vis.N
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ready", "layers": counts})
}
