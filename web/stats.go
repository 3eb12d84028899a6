package web

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"troopmap/geo"
	"troopmap/layers"
)

// statsParams are the query parameters of the stats routes.
func isStatsParam(k string) bool {
	switch k {
	case "from", "to", "interval", "f", "zone", "asof":
		return true
	}
	return false
}

// statsAnswer is the JSON body of /stats/zones and of an area feature's
// stats.
type statsAnswer struct {
	Interval string              `json:"interval"`
	From     time.Time           `json:"from"`
	To       time.Time           `json:"to"`
	Zones    []layers.AreaStats  `json:"zones,omitempty"`
	Area     *layers.AreaStats   `json:"area,omitempty"`
	Links    []map[string]string `json:"links"`
}

// handleZoneStats answers GET /stats/zones: per zone layer and interval,
// troop-concentration reports and personnel, incidents by event type and
// fatalities, and the change from the interval before.
func (s *Server) handleZoneStats(c echo.Context) error {
	cat, err := s.Catalog()
	if err != nil {
		return err
	}
	req, err := s.parseStatsRequest(c, cat)
	if err != nil {
		return err
	}
	var want map[string]bool
	if z := c.QueryParam("zone"); z != "" {
		want = map[string]bool{}
		for _, id := range strings.Split(z, ",") {
			l, ok := cat.Layer(strings.TrimSpace(id))
			if !ok || !l.Zone {
				return layers.Errorf(layers.EINVALID, "parameter zone: %q is not a zone; zones are %s", id, strings.Join(zoneIDs(cat), ", "))
			}
			want[l.ID] = true
		}
	}
	var areas []layers.StatsArea
	for _, l := range cat.Layers() {
		if l.Zone && (want == nil || want[l.ID]) {
			areas = append(areas, layers.ZoneArea(l))
		}
	}
	sources, err := s.statsSources(c, cat)
	if err != nil {
		return err
	}
	stats, err := layers.ComputeStats(ctx(c), req, areas, sources)
	if err != nil {
		return err
	}
	return s.writeStats(c, req, statsAnswer{Zones: stats})
}

// handleAreaStats answers GET /collections/{area}/items/{id}/stats: the
// same figures for the reports that meet one feature of an area layer (an
// oblast, one part of a zone).
func (s *Server) handleAreaStats(c echo.Context) error {
	cat, err := s.Catalog()
	if err != nil {
		return err
	}
	l, err := cat.Lookup(c.Param("id"))
	if err != nil {
		return err
	}
	if l.Kind != layers.KindArea {
		return layers.Errorf(layers.ENOTFOUND, "collection %q is not an area layer; statistics exist for the features of area layers", l.ID)
	}
	f, ok := l.Snapshot().Get(c.Param("fid"))
	if !ok {
		return layers.Errorf(layers.ENOTFOUND, "feature %q does not exist in collection %q", c.Param("fid"), l.ID)
	}
	area, ok := layers.FeatureArea(l.ID, f)
	if !ok {
		return layers.Errorf(layers.ENOTFOUND, "feature %q of %q has no area", f.ID, l.ID)
	}
	if c.QueryParam("zone") != "" {
		return layers.Errorf(layers.EINVALID, "parameter zone: only /stats/zones takes it")
	}
	req, err := s.parseStatsRequest(c, cat)
	if err != nil {
		return err
	}
	sources, err := s.statsSources(c, cat)
	if err != nil {
		return err
	}
	stats, err := layers.ComputeStats(ctx(c), req, []layers.StatsArea{area}, sources)
	if err != nil {
		return err
	}
	return s.writeStats(c, req, statsAnswer{Area: &stats[0]})
}

// statsSources are the report layers as this reader sees them.
// With ?asof= they are the layers as they stood at that moment.
func (s *Server) statsSources(c echo.Context, cat *layers.Catalog) ([]layers.StatsSource, error) {
	a, err := parseAsOf(c, time.Now())
	if err != nil {
		return nil, err
	}
	var ls []*layers.Layer
	for _, id := range []string{layers.TroopConcentrations, layers.Incidents} {
		if l, ok := cat.Layer(id); ok {
			if l, err = s.layerAt(c, l, a); err != nil {
				return nil, err
			}
			ls = append(ls, l)
		}
	}
	v := s.viewOf(c) // after layerAt, which narrows it for the past
	out := make([]layers.StatsSource, 0, len(ls))
	for _, l := range ls {
		out = append(out, layers.StatsSource{Layer: l, Show: v.Show})
	}
	return out, nil
}

func zoneIDs(cat *layers.Catalog) []string {
	var ids []string
	for _, l := range cat.Layers() {
		if l.Zone {
			ids = append(ids, l.ID)
		}
	}
	return ids
}

// parseStatsRequest reads from, to and interval. from and to are RFC 3339
// date-times or dates (to as a date means the end of that day); by default
// they span the reports' time extent. interval is day or week (default).
func (s *Server) parseStatsRequest(c echo.Context, cat *layers.Catalog) (layers.StatsRequest, error) {
	var req layers.StatsRequest
	for k := range c.QueryParams() {
		if !isStatsParam(k) {
			return req, layers.Errorf(layers.EINVALID, "unknown parameter %q; this path takes from, to, interval, f and (on /stats/zones) zone", k)
		}
	}
	switch iv := c.QueryParam("interval"); iv {
	case "", layers.StatsWeek:
		req.Interval = layers.StatsWeek
	case layers.StatsDay:
		req.Interval = layers.StatsDay
	default:
		return req, layers.Errorf(layers.EINVALID, "parameter interval: %q is not day or week", iv)
	}
	var err error
	if v := c.QueryParam("from"); v != "" {
		if req.From, err = geo.ParseTimeBound(v, false); err != nil {
			return req, layers.Errorf(layers.EINVALID, "parameter from: %v", err)
		}
	}
	if v := c.QueryParam("to"); v != "" {
		if req.To, err = geo.ParseTimeBound(v, true); err != nil {
			return req, layers.Errorf(layers.EINVALID, "parameter to: %v", err)
		}
	}
	if req.From.IsZero() || req.To.IsZero() {
		start, end, err := s.reportsExtent(c, cat)
		if err != nil {
			return req, err
		}
		if req.From.IsZero() {
			req.From = start
		}
		if req.To.IsZero() {
			req.To = end
		}
	}
	if req.To.Before(req.From) {
		return req, layers.Errorf(layers.EINVALID, "parameter to: %s is before from %s", req.To.Format(time.RFC3339), req.From.Format(time.RFC3339))
	}
	if _, _, n := req.Intervals(); n > layers.MaxStatsIntervals {
		return req, layers.Errorf(layers.EINVALID, "parameters from and to: %d %s intervals asked for, at most %d allowed; narrow the range or use interval=week",
			n, req.Interval, layers.MaxStatsIntervals)
	}
	return req, nil
}

// reportsExtent is the time extent of the report layers as the reader sees
// them (a hidden report must not stretch the default range); the last 12
// weeks when there are none.
func (s *Server) reportsExtent(c echo.Context, cat *layers.Catalog) (time.Time, time.Time, error) {
	var start, end time.Time
	v := s.viewOf(c)
	for _, id := range []string{layers.TroopConcentrations, layers.Incidents} {
		l, ok := cat.Layer(id)
		if !ok {
			continue
		}
		vis, err := s.visible(c, v, l)
		if err != nil {
			return start, end, err
		}
		e := vis.Extent
		if !e.Start.IsZero() && (start.IsZero() || e.Start.Before(start)) {
			start = e.Start
		}
		if e.End.After(end) {
			end = e.End
		}
	}
	if start.IsZero() {
		end = time.Now().UTC()
		start = end.AddDate(0, 0, -12*7)
	}
	return start, end, nil
}

// writeStats sends the answer as JSON, or as CSV for f=csv or a client that
// asks for text/csv.
func (s *Server) writeStats(c echo.Context, req layers.StatsRequest, a statsAnswer) error {
	a.Interval, a.From, a.To = req.Interval, req.From, req.To
	format := c.QueryParam("f")
	switch format {
	case "":
		if strings.Contains(c.Request().Header.Get("Accept"), "text/csv") {
			format = "csv"
		} else {
			format = "json"
		}
	case "json", "csv":
	default:
		return layers.Errorf(layers.EINVALID, "parameter f: %q is not json or csv", format)
	}
	self := s.baseURL(c.Request()) + c.Request().URL.Path
	q := c.Request().URL.Query()
	link := func(f, rel, typ string) map[string]string {
		q.Set("f", f)
		return map[string]string{"href": self + "?" + q.Encode(), "rel": rel, "type": typ}
	}
	if format == "json" {
		a.Links = []map[string]string{link("json", "self", echo.MIMEApplicationJSON), link("csv", "alternate", "text/csv")}
		return c.JSON(http.StatusOK, a)
	}
	rows := a.Zones
	if a.Area != nil {
		rows = []layers.AreaStats{*a.Area}
	}
	body, err := statsCSV(rows)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", `attachment; filename="`+url.PathEscape(csvName(c, a))+`"`)
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", body)
}

func csvName(c echo.Context, a statsAnswer) string {
	if a.Area != nil {
		return "stats-" + a.Area.Collection + "-" + a.Area.ID + ".csv"
	}
	return "stats-zones.csv"
}

// statsCSV writes one row per area and interval; the change columns follow
// the figures, prefixed change_.
func statsCSV(areas []layers.AreaStats) ([]byte, error) {
	types := layers.EventTypes()
	header := []string{"area", "interval_start", "interval_end"}
	figHeader := []string{"troop_concentrations", "personnel_low", "personnel_best", "personnel_high", "incidents"}
	for _, t := range types {
		figHeader = append(figHeader, "incidents_"+t)
	}
	figHeader = append(figHeader, "fatalities_low", "fatalities_best", "fatalities_high")
	header = append(header, figHeader...)
	for _, h := range figHeader {
		header = append(header, "change_"+h)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(header)
	itoa := func(v int64) string { return strconv.FormatInt(v, 10) }
	cols := func(f layers.Figures) []string {
		out := []string{strconv.Itoa(f.TroopConcentrations), itoa(f.Personnel.Low), itoa(f.Personnel.Best), itoa(f.Personnel.High), strconv.Itoa(f.Incidents)}
		for _, t := range types {
			out = append(out, strconv.Itoa(f.ByEventType[t]))
		}
		return append(out, itoa(f.Fatalities.Low), itoa(f.Fatalities.Best), itoa(f.Fatalities.High))
	}
	for _, a := range areas {
		for _, iv := range a.Intervals {
			row := []string{a.ID, iv.Start.Format(time.RFC3339), iv.End.Format(time.RFC3339)}
			row = append(row, cols(iv.Figures)...)
			row = append(row, cols(iv.Change)...)
			if err := w.Write(row); err != nil {
				return nil, err
			}
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}
