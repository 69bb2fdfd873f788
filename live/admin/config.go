package admin

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/live/api"
	"github.com/basalt-ha/basalt/live/daemon"
)

// maxConfigBody bounds a configuration request's body: the manager
// refuses a file larger than an event log record holds (a little under
// 1 MiB), so a body past 1 MiB (the file, JSON-escaped) is refused before
// it is buffered whole.
const maxConfigBody = 1 << 20

// serveConfig is GET /v1/config: the running configuration's text and
// version.
func serveConfig(w http.ResponseWriter, r *http.Request, d *daemon.ManagerDaemon) {
	text, version := d.RunningConfig()
	reply(w, http.StatusOK, api.ConfigView{Version: version, Text: text})
}

// decodeConfig reads a configuration request, answering a bad one.
func decodeConfig(w http.ResponseWriter, r *http.Request) (api.ConfigRequest, bool) {
	var req api.ConfigRequest
	code, err := decodeBody(w, r, maxConfigBody, &req)
	if code == http.StatusRequestEntityTooLarge {
		err = fmt.Errorf("configuration too large: the request's limit is %d bytes (and the manager takes files of at most about 960 KiB)", maxConfigBody)
	}
	if err != nil {
		fail(w, code, err)
		return req, false
	}
	return req, true
}

// serveConfigPreview is POST /v1/config/preview: what the file would
// change and the transition the manager would plan, changing nothing
// (200); a file the manager would refuse is 400 with the reason.
func serveConfigPreview(w http.ResponseWriter, r *http.Request, d *daemon.ManagerDaemon) {
	req, ok := decodeConfig(w, r)
	if !ok {
		return
	}
	p, err := d.PreviewConfig(req.Text)
	if refused(w, err) {
		return
	}
	reply(w, http.StatusOK, previewView(p, ""))
}

// serveConfigApply is POST /v1/config/apply: the file becomes the running
// configuration (202, with its version, what changed, the transition and
// the report that follows it), or is refused whole (400 with the reason,
// 503 while the manager cannot act). A file that changes nothing is
// answered 200, empty, and not recorded.
func serveConfigApply(log *slog.Logger) func(w http.ResponseWriter, r *http.Request, d *daemon.ManagerDaemon) {
	return func(w http.ResponseWriter, r *http.Request, d *daemon.ManagerDaemon) {
		req, ok := decodeConfig(w, r)
		if !ok {
			return
		}
		by := peer(r)
		p, id, empty, err := d.ApplyConfig(req.Text, by)
		if refused(w, err) {
			return
		}
		v := previewView(p, id)
		if empty {
			reply(w, http.StatusOK, v)
			return
		}
		log.Info("configuration applied", "version", v.Version, "source", req.Source, "report", id, "by", by,
			"change", strings.Join(v.Change, "; "))
		reply(w, http.StatusAccepted, v)
	}
}

// previewView is a configuration's preview as the API shows it.
func previewView(p manager.ConfigPreview, report string) api.ConfigPreviewView {
	v := api.ConfigPreviewView{Version: p.Version, Empty: p.Change.Empty(), Change: []string{}, Transition: []string{},
		Warnings: p.Warnings, Report: report}
	if v.Empty {
		// Nothing would change: the running version stays.
		v.Version--
	} else {
		v.Change = strings.Split(strings.TrimSuffix(p.Change.String(), "\n"), "\n")
	}
	v.Transition = append(v.Transition, p.Lines()...)
	return v
}
