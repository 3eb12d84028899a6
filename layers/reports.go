package layers

// Report layer ids.
const (
	TroopConcentrations = "troop-concentrations"
	Incidents           = "incidents"
	Movements           = "movements"
)

// The properties that carry a report's time extent.
const (
	ObservedAt    = "observed_at"
	ObservedUntil = "observed_until"
)

// ReportTimeKeys returns the time keys of report layers, for NewFeature.
func ReportTimeKeys() []string { return []string{ObservedAt, ObservedUntil} }

// ReportMetas describes the writable report layers in catalog order.
func ReportMetas() []Meta {
	return []Meta{
		{ID: TroopConcentrations, Title: "Troop concentrations", Kind: KindReports,
			Description: "Reported concentrations of troops: side, echelon, function, posture and strength, with sources.",
			TimeKeys:    ReportTimeKeys(), MinZoom: 0, MaxZoom: 16},
		{ID: Incidents, Title: "Incidents", Kind: KindReports,
			Description: "Reported incidents (ACLED event types): battles, shelling, strikes and strategic developments, with sources.",
			TimeKeys:    ReportTimeKeys(), MinZoom: 0, MaxZoom: 16},
	}
}
