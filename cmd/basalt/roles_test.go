package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/live/api"
)

// A promotable clone's resource shows its roles as crm_mon does, in both
// status forms; any other resource reads as before.
func TestStatusShowsRoles(t *testing.T) {
	r := api.ResourceView{ID: "db", Name: "database", RunningOn: []string{"h1", "h2", "h3"},
		States:     map[string]string{"h1": "running", "h2": "running", "h3": "running"},
		Roles:      map[string]string{"h1": "Unpromoted", "h2": "Promoted", "h3": "Unpromoted"},
		PromotedOn: []string{"h2"}}
	require.Equal(t, "Started h1,h2,h3; Promoted: [ h2 ] Unpromoted: [ h1 h3 ]", resourceState(r))
	var b bytes.Buffer
	printResource(&b, r)
	require.Equal(t, "    db \"database\": running on h1,h2,h3, promoted on h2\n", b.String())

	r.Roles, r.PromotedOn = nil, nil
	require.Equal(t, "Started h1,h2,h3", resourceState(r))
}
