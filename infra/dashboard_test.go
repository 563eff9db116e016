package infra_test

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/auctionflow/auction/internal/metrics"
)

const (
	dashboardDir      = "infra/compose/grafana/dashboards"
	dashboardProvider = "infra/compose/grafana/provisioning/dashboards/dashboards.yml"
)

// TestDashboard holds the Grafana dashboard to the platform: it is valid
// JSON with panels, every series its queries name is one the platform
// exports, every series the platform exports is on it, and compose mounts it
// where the provisioning provider looks.
func TestDashboard(t *testing.T) {
	exported := exportedSeries(t)
	files, err := filepath.Glob(filepath.Join(repoRoot, dashboardDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in %s (%v)", dashboardDir, err)
	}
	used := map[string]bool{}
	for _, f := range files {
		for _, q := range dashboardQueries(t, f) {
			for _, name := range seriesNames(q.expr) {
				used[name] = true
				if !exported[name] {
					t.Errorf("%s, panel %q: query names %s, which the platform does not export:\n%s",
						filepath.Base(f), q.panel, name, q.expr)
				}
			}
		}
	}
	// A family is on the dashboard if any of its series is (a histogram's
	// _bucket, _sum or _count).
	for name := range exported {
		if !strings.HasPrefix(name, "auction_") || used[name] {
			continue
		}
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
		if !used[base+"_bucket"] && !used[base+"_sum"] && !used[base+"_count"] && !used[base] {
			t.Errorf("%s is exported but on no dashboard", name)
		}
	}

	t.Run("provisioned", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(repoRoot, dashboardProvider))
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Providers []struct {
				Type    string
				Options struct{ Path string }
			}
		}
		if err := yaml.Unmarshal(b, &p); err != nil || len(p.Providers) != 1 || p.Providers[0].Type != "file" {
			t.Fatalf("%s: got %+v (%v), want one file provider", dashboardProvider, p, err)
		}
		path := p.Providers[0].Options.Path
		project := loadCompose(t)
		grafana, err := project.GetService("grafana")
		if err != nil {
			t.Fatal(err)
		}
		src, _ := filepath.Abs(filepath.Join(repoRoot, dashboardDir))
		for _, v := range grafana.Volumes {
			if v.Target == path {
				if v.Source != src {
					t.Errorf("grafana mounts %s at %s, want %s", v.Source, path, dashboardDir)
				}
				return
			}
		}
		t.Errorf("grafana mounts nothing at %s, where the dashboard provider looks", path)
	})
}

// exportedSeries are the series names a process exports once every series
// has been touched, read from a real registry: each family's name, and a
// histogram's _bucket, _sum and _count.
func exportedSeries(t *testing.T) map[string]bool {
	t.Helper()
	m := metrics.New()
	route := m.HTTP(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	route.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v1/items", nil))
	m.Invocation("placebid", time.Millisecond, nil)
	m.Invocation("placebid", time.Millisecond, errors.New("failed"))
	m.ColdStart("placebid", time.Millisecond)
	m.Decision(true, "")
	m.Decision(false, "below_minimum_increment")
	m.DeadLetter("auction")
	m.AuctionOpened()
	m.AuctionClosed("sold")
	m.Trigger("notify", func() metrics.TriggerStats { return metrics.TriggerStats{Invocations: 1, Records: 1} })
	m.ConsumerLag("auction", func() []metrics.PartitionLag { return []metrics.PartitionLag{{Topic: "auction.bids"}} })

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	out := map[string]bool{}
	// "# TYPE name type" names every family.
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		f := strings.Fields(line)
		if len(f) != 4 || f[0] != "#" || f[1] != "TYPE" {
			continue
		}
		out[f[2]] = true
		if f[3] == "histogram" || f[3] == "summary" {
			out[f[2]+"_sum"], out[f[2]+"_count"] = true, true
		}
		if f[3] == "histogram" {
			out[f[2]+"_bucket"] = true
		}
	}
	if !out["auction_consumer_lag"] || !out["auction_trigger_batch_size_bucket"] {
		t.Fatalf("exported series lack the collectors' (lag, trigger): %v", slices.Sorted(maps.Keys(out)))
	}
	return out
}

type query struct{ panel, expr string }

// dashboardQueries reads a dashboard's PromQL, panels in rows included.
func dashboardQueries(t *testing.T, file string) []query {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Type, Title string
		Targets     []struct{ Expr string }
		Panels      json.RawMessage
	}
	var d struct {
		UID, Title string
		Panels     []panel
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if d.UID == "" || d.Title == "" {
		t.Errorf("%s: got uid %q, title %q, want both", file, d.UID, d.Title)
	}
	var qs []query
	var walk func(ps []panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no queries", file, p.Title)
			}
			for _, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("%s: panel %q has an empty query", file, p.Title)
				}
				qs = append(qs, query{p.Title, tg.Expr})
			}
			var nested []panel
			if len(p.Panels) > 0 && json.Unmarshal(p.Panels, &nested) == nil {
				walk(nested)
			}
		}
	}
	walk(d.Panels)
	if len(qs) == 0 {
		t.Fatalf("%s: no panels with queries", file)
	}
	return qs
}

var (
	quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	// The platform's series all start with auction_; label values are
	// quoted (and dropped first), so auction.bids or auction-notify do not count.
	series = regexp.MustCompile(`\bauction_[a-zA-Z0-9_]+\b`)
)

// seriesNames are the platform series a PromQL expression selects.
func seriesNames(expr string) []string {
	return series.FindAllString(quoted.ReplaceAllString(expr, `""`), -1)
}

func TestSeriesNames(t *testing.T) {
	tests := []struct{ expr, want string }{
		{`sum by (group) (auction_consumer_lag{group="auction-notify",topic="auction.bids"})`, "auction_consumer_lag"},
		{`histogram_quantile(0.99, sum by (le) (rate(auction_trigger_batch_size_bucket[$__rate_interval])))`, "auction_trigger_batch_size_bucket"},
		{`sum(auction_auctions_opened_total) - sum(auction_auctions_closed_total{outcome="auction_x"})`, "auction_auctions_opened_total auction_auctions_closed_total"},
		{`up{job="auction_gateway"}`, ""},
	}
	for _, tt := range tests {
		if got := strings.Join(seriesNames(tt.expr), " "); got != tt.want {
			t.Errorf("seriesNames(%s): got %q, want %q", tt.expr, got, tt.want)
		}
	}
}
