package logs

import (
	"testing"

	"github.com/gitfleet/gitfleet/api"
)

// TestPath pins the layout: an agent must find the logs an older one wrote.
func TestPath(t *testing.T) {
	key := api.PodKey{Namespace: "default", Name: "web"}
	if got := Path("/var/lib/gitfleet", key, "app"); got != "/var/lib/gitfleet/logs/default_web_app.log" {
		t.Errorf("Path = %q", got)
	}
}
