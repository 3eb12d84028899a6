package layers

// The report schema (version 1) as data: validation, the JSON Schema served at
// /collections/{id}/schema, the queryables and the OpenAPI query parameters
// are all generated from it, so they cannot drift apart.

// FieldType is the JSON type of a report field.
type FieldType string

const (
	TypeString  FieldType = "string"
	TypeNumber  FieldType = "number"
	TypeInteger FieldType = "integer"
	TypeBoolean FieldType = "boolean"
	TypeTime    FieldType = "date-time" // an RFC 3339 string
	TypeURL     FieldType = "url"       // an http or https URL string
	TypeArray   FieldType = "array"
	TypeObject  FieldType = "object"
)

// Field describes one property of a report.
type Field struct {
	Name        string
	Type        FieldType
	Description string
	Required    bool     // the uploader must give it
	ServerSet   bool     // the server assigns it; uploaded values are ignored
	EditorOnly  bool     // only editors may set or change it
	Enum        []string // closed vocabulary
	Min, Max    *float64 // inclusive range for numbers
	MaxLength   int      // for strings: characters; for arrays: items
	MinItems    int      // for arrays
	Items       *Field   // element of an array
	Fields      []Field  // members of an object
	// Queryable fields are declared as query parameters of the items path
	// and filtered exactly; they are also the queryables.
	Queryable bool
}

// Schema is the property schema of one report collection.
type Schema struct {
	Collection string
	Title      string
	Fields     []Field
}

// Field returns the top-level field with the given name.
func (s Schema) Field(name string) (Field, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Queryables returns the fields declared as query parameters.
func (s Schema) Queryables() []Field {
	var out []Field
	for _, f := range s.Fields {
		if f.Queryable {
			out = append(out, f)
		}
	}
	return out
}

func num(v float64) *float64 { return &v }

func rangeObject(name, desc string) Field {
	n := func(k string) Field {
		return Field{Name: k, Type: TypeInteger, Min: num(0), Description: k + " estimate"}
	}
	return Field{Name: name, Type: TypeObject, Description: desc + " as {low, best, high}, integers >= 0, low <= best <= high",
		Fields: []Field{n("low"), n("best"), n("high")}}
}

// AreaOfInterest is the default box reports must fall in: 20°E–42°E, 43°N–54°N.
func AreaOfInterest() [4]float64 { return [4]float64{20, 43, 42, 54} }

// Vocabularies shared by the schema and its users.
func Sides() []string { return []string{"ru", "ua", "by", "unknown"} }

// Verifications lists the verification states; reports start "submitted".
func Verifications() []string {
	return []string{"submitted", "in_review", "verified", "disputed", "rejected", "retracted"}
}

func commonFields() []Field {
	return []Field{
		{Name: "id", Type: TypeString, ServerSet: true, Description: "stable id across edits (a ULID); the GeoJSON Feature id"},
		{Name: "observed_at", Type: TypeTime, Required: true, Description: "when it was seen, or the start of the period"},
		{Name: "observed_until", Type: TypeTime, Description: "end of the period, >= observed_at"},
		{Name: "time_precision", Type: TypeString, Required: true, Queryable: true, Enum: []string{"exact", "day", "week", "month"}},
		{Name: "geo_precision", Type: TypeString, Required: true, Queryable: true, Enum: []string{"exact", "town", "region"}, Description: "ACLED's 1/2/3"},
		{Name: "ce_m", Type: TypeNumber, Min: num(0), Description: "circular error in metres"},
		{Name: "location_name", Type: TypeString, MaxLength: 200},
		{Name: "sources", Type: TypeArray, Required: true, MinItems: 1, Description: "where the report comes from",
			Items: &Field{Type: TypeObject, Fields: []Field{
				{Name: "url", Type: TypeURL, Required: true, Description: "http or https URL"},
				{Name: "kind", Type: TypeString, Enum: []string{"social", "satellite", "official", "media", "partner", "field"}},
				{Name: "title", Type: TypeString, MaxLength: 500},
				{Name: "captured_at", Type: TypeTime},
				{Name: "archived_url", Type: TypeURL},
				{Name: "sha256", Type: TypeString, MaxLength: 64},
			}}},
		{Name: "source_reliability", Type: TypeString, Required: true, Queryable: true, Enum: []string{"a", "b", "c", "d", "e", "f"}, Description: "admiralty code, source reliability"},
		{Name: "info_credibility", Type: TypeString, Required: true, Queryable: true, Enum: []string{"1", "2", "3", "4", "5", "6"}, Description: "admiralty code, information credibility"},
		{Name: "verification", Type: TypeString, ServerSet: true, EditorOnly: true, Queryable: true, Enum: Verifications(), Description: "starts submitted; editors move it"},
		{Name: "sensitivity", Type: TypeString, Required: true, Queryable: true, Enum: []string{"public", "restricted"}, Description: "restricted reports are never shown to anonymous readers"},
		{Name: "embargo_until", Type: TypeTime, Description: "hidden from anonymous readers until then"},
		{Name: "notes", Type: TypeString, MaxLength: 4000, Description: "plain text, never rendered as HTML"},
		{Name: "tags", Type: TypeArray, MaxLength: 20, Items: &Field{Type: TypeString, MaxLength: 100}},
		{Name: "zones", Type: TypeArray, ServerSet: true, Queryable: true, Items: &Field{Type: TypeString},
			Description: "area layers that contain the report: donbas, crimea, northern-border-zone, eastern-border-zone"},
		{Name: "admin1", Type: TypeString, ServerSet: true, Queryable: true, Description: "ISO 3166-2 code of the oblast that contains the report"},
		{Name: "border_distance_km", Type: TypeNumber, ServerSet: true, Description: "ground distance to Ukraine's land border with Russia or Belarus"},
		{Name: "version", Type: TypeInteger, ServerSet: true},
		{Name: "created_by", Type: TypeString, ServerSet: true, Queryable: true},
		{Name: "created_at", Type: TypeTime, ServerSet: true},
		{Name: "updated_at", Type: TypeTime, ServerSet: true},
	}
}

// ReportSchema returns the schema of a report collection.
func ReportSchema(collection string) (Schema, bool) {
	switch collection {
	case TroopConcentrations:
		return Schema{Collection: collection, Title: "Troop concentration", Fields: append(commonFields(),
			Field{Name: "side", Type: TypeString, Required: true, Queryable: true, Enum: Sides()},
			Field{Name: "echelon", Type: TypeString, Required: true, Queryable: true, Enum: []string{"team", "squad", "section", "platoon", "company", "battalion", "regiment", "brigade", "division", "corps", "army", "unknown"}},
			Field{Name: "unit_function", Type: TypeString, Required: true, Queryable: true, Enum: []string{"infantry", "mechanized", "armor", "artillery", "rocket_artillery", "air_defense", "engineer", "recon", "uav", "ew", "logistics", "hq", "aviation", "airborne", "naval_infantry", "unknown"}},
			Field{Name: "posture", Type: TypeString, Required: true, Queryable: true, Enum: []string{"assembly_area", "staging", "defensive", "moving", "attacking", "withdrawing", "base_established", "unknown"}},
			Field{Name: "unit_designation", Type: TypeString, MaxLength: 100, Queryable: true, Description: "reports of the same unit form its movement track"},
			Field{Name: "higher_formation", Type: TypeString, MaxLength: 100},
			Field{Name: "strength", Type: TypeObject, Fields: []Field{rangeObject("personnel", "personnel"), rangeObject("vehicles", "vehicles")}},
			Field{Name: "equipment", Type: TypeArray, MaxLength: 100, Items: &Field{Type: TypeObject, Fields: []Field{
				{Name: "type", Type: TypeString, Required: true, MaxLength: 100},
				{Name: "count", Type: TypeInteger, Min: num(0)},
			}}},
			Field{Name: "heading_deg", Type: TypeNumber, Min: num(0), Max: num(359), Description: "direction of movement"},
			Field{Name: "speed_kmh", Type: TypeNumber, Min: num(0)},
			Field{Name: "sidc", Type: TypeString, MaxLength: 30, Description: "MIL-STD-2525D symbol code (20 digits)"},
		)}, true
	case Incidents:
		return Schema{Collection: collection, Title: "Incident", Fields: append(commonFields(),
			Field{Name: "event_type", Type: TypeString, Required: true, Queryable: true, Enum: []string{"battles", "explosions_remote_violence", "violence_against_civilians", "protests", "riots", "strategic_developments"}},
			Field{Name: "sub_event_type", Type: TypeString, Queryable: true, MaxLength: 100, Description: "ACLED sub-type in snake_case"},
			Field{Name: "actor1", Type: TypeString, Required: true, MaxLength: 200},
			Field{Name: "actor2", Type: TypeString, MaxLength: 200},
			rangeObject("fatalities", "deaths; best is the conservative figure"),
			rangeObject("injured", "injured"),
			Field{Name: "weapon", Type: TypeString, Queryable: true, Enum: []string{"small_arms", "artillery", "mortar", "mlrs", "ballistic_missile", "cruise_missile", "glide_bomb", "loitering_munition", "fpv_uav", "mine", "sniper", "unknown"}},
			Field{Name: "target", Type: TypeString, Queryable: true, Enum: []string{"military", "energy", "residential", "medical", "transport", "other"}},
			Field{Name: "civilian_targeting", Type: TypeBoolean, Queryable: true},
		)}, true
	}
	return Schema{}, false
}

// JSONSchema renders the schema's properties as a JSON Schema (draft
// 2020-12) object for a GeoJSON Feature's properties.
func (s Schema) JSONSchema() map[string]any {
	props := map[string]any{}
	var required []string
	for _, f := range s.Fields {
		props[f.Name] = fieldSchema(f)
		if f.Required {
			required = append(required, f.Name)
		}
	}
	return map[string]any{"type": "object", "properties": props, "required": required}
}

func fieldSchema(f Field) map[string]any {
	m := map[string]any{}
	if f.Description != "" {
		m["description"] = f.Description
	}
	if f.ServerSet {
		m["readOnly"] = true
	}
	switch f.Type {
	case TypeTime:
		m["type"], m["format"] = "string", "date-time"
	case TypeURL:
		m["type"], m["format"], m["pattern"] = "string", "uri", "^https?://"
	case TypeArray:
		m["type"] = "array"
		if f.Items != nil {
			m["items"] = fieldSchema(*f.Items)
		}
		if f.MinItems > 0 {
			m["minItems"] = f.MinItems
		}
		if f.MaxLength > 0 {
			m["maxItems"] = f.MaxLength
		}
	case TypeObject:
		m["type"] = "object"
		sub := map[string]any{}
		var req []string
		for _, c := range f.Fields {
			sub[c.Name] = fieldSchema(c)
			if c.Required {
				req = append(req, c.Name)
			}
		}
		m["properties"] = sub
		if len(req) > 0 {
			m["required"] = req
		}
	default:
		m["type"] = string(f.Type)
	}
	if len(f.Enum) > 0 {
		m["enum"] = f.Enum
	}
	if f.Min != nil {
		m["minimum"] = *f.Min
	}
	if f.Max != nil {
		m["maximum"] = *f.Max
	}
	if f.Type == TypeString && f.MaxLength > 0 {
		m["maxLength"] = f.MaxLength
	}
	return m
}
