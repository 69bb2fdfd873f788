package api

// The configuration endpoints: the running configuration (GET /v1/config),
// what a new file would change (POST /v1/config/preview) and applying it
// (POST /v1/config/apply). The manager validates the file and decides; the
// client only carries its text, so that `basalt config apply` on a machine
// without the cluster's secrets sends nothing but the file.

// ConfigView is GET /v1/config: the configuration the manager runs.
type ConfigView struct {
	// Version is 0 for the file the manager first started with, and one
	// more for each configuration applied since.
	Version int `json:"version"`
	// Text is the configuration's YAML, as it was given.
	Text string `json:"text"`
}

// ConfigRequest is the JSON body of POST /v1/config/preview and POST
// /v1/config/apply.
type ConfigRequest struct {
	// Text is the new configuration's YAML, whole.
	Text string `json:"text"`
	// Source names where it came from (a file name), for the report and
	// the event log; the manager never reads it.
	Source string `json:"source,omitempty"`
}

// ConfigPreviewView answers both configuration POSTs: what the new file
// changes and the transition the manager plans (or planned) for it.
type ConfigPreviewView struct {
	// Version is the version the configuration has (apply) or would have
	// (preview).
	Version int `json:"version"`
	// Empty: the file changes nothing; apply then records nothing.
	Empty bool `json:"empty,omitempty"`
	// Change is the difference with the running configuration, one line
	// per kind ("+ added", "- removed", "~ changed").
	Change []string `json:"change"`
	// Transition is the plan's actions in order, one line each.
	Transition []string `json:"transition"`
	// Warnings are the new configuration's warnings (the loader's and the
	// agents' meta-data checks).
	Warnings []string `json:"warnings,omitempty"`
	// Report is the ID of the report that follows the change (apply
	// only); it stays OPEN until every touched group is where the change
	// puts it.
	Report string `json:"report,omitempty"`
}

// Config returns the running configuration (GET /v1/config).
func (a *Client) Config() (ConfigView, error) {
	var v ConfigView
	err := a.Do("GET", "/v1/config", nil, &v)
	return v, err
}

// PreviewConfig asks what applying text would change, changing nothing
// (POST /v1/config/preview).
func (a *Client) PreviewConfig(req ConfigRequest) (ConfigPreviewView, error) {
	var v ConfigPreviewView
	err := a.Do("POST", "/v1/config/preview", req, &v)
	return v, err
}

// ApplyConfig applies a new configuration (POST /v1/config/apply): the
// manager refuses it whole, or records it and acts on it.
func (a *Client) ApplyConfig(req ConfigRequest) (ConfigPreviewView, error) {
	var v ConfigPreviewView
	err := a.Do("POST", "/v1/config/apply", req, &v)
	return v, err
}
