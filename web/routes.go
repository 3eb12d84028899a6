package web

import "net/http"

// routes registers every route in one place.
func (s *Server) routes() {
	e := s.echo
	get := []string{http.MethodGet, http.MethodHead}
	e.GET("/healthz", s.handleHealthz)
	e.GET("/readyz", s.handleReadyz)
	e.GET("/metrics", s.handleMetrics)
	e.Match(get, "/tiles/:layers/:z/:x/:y", s.handleTile)
	e.Match(get, "/tiles/:layers", s.handleTileJSON)
	e.Match(get, "/styles/troopmap.json", s.handleStyle)
	if s.tiles.cfg.BenchCeiling {
		e.GET("/bench/ceiling", s.handleCeiling)
	}
	e.Match(get, "/collections/:id/clusters/:cluster_id/leaves", s.handleClusterLeaves)

	// OGC API – Features, Parts 1–3.
	e.Match(get, "/", s.handleLanding)
	e.Match(get, "/api", s.handleAPI)
	e.Match(get, "/conformance", s.handleConformance)
	e.Match(get, "/collections", s.handleCollections)
	e.Match(get, "/collections/:id", s.handleCollection)
	e.Match(get, "/collections/:id/items", s.handleItems)
	e.Match(get, "/collections/:id/items/:fid", s.handleItem)
	e.Match(get, "/collections/:id/queryables", s.handleQueryables)
	e.Match(get, "/stats/zones", s.handleZoneStats)
	e.Match(get, "/collections/:id/items/:fid/stats", s.handleAreaStats)

	// The map page and its embedded scripts, styles and libraries.
	e.Match(get, "/map", s.handleMap)
	e.Match(get, "/static/:hash/*", s.handleStatic)
	// Writes (OGC API – Features Part 4), history and live changes.
	e.POST("/collections/:id/items", s.handleCreateItems)
	e.OPTIONS("/collections/:id/items", s.handleOptionsItems)
	e.PUT("/collections/:id/items/:fid", s.handleReplaceItem)
	e.PATCH("/collections/:id/items/:fid", s.handlePatchItem)
	e.DELETE("/collections/:id/items/:fid", s.handleDeleteItem)
	e.OPTIONS("/collections/:id/items/:fid", s.handleOptionsItem)
	e.Match(get, "/collections/:id/items/:fid/history", s.handleHistory)
	e.GET("/events", s.handleEvents)

	// Key management and its audit trail, for admins.
	e.Match(get, "/admin/keys", s.handleListKeys)
	e.POST("/admin/keys", s.handleCreateKey)
	e.Match(get, "/admin/keys/:name", s.handleGetKey)
	e.DELETE("/admin/keys/:name", s.handleRevokeKey)
	e.Match(get, "/admin/audit", s.handleAudit)
}
