package infra_test

// TestCompose checks docker-compose.yml without Docker: compose-go loads it
// as `docker compose config` would (schema, interpolation, merge keys, path
// resolution), and the checks below hold it to the binary it runs
// (`go run ./cmd/auction env`: its AUCTION_* settings and -target names).
// Each subtest lists every violation it finds.

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"
)

const composeFile = "docker-compose.yml"

// oneShot are the services that run to completion; others start after them
// with condition service_completed_successfully.
var oneShot = map[string]string{
	"init": "`auction init` creates the topics and tables, then exits",
}

// noHealthcheck are the long-running services without a healthcheck, each
// with the reason. The test fails if one of them gains a healthcheck or goes
// away, so the list stays true. Every service has one today.
var noHealthcheck = map[string]string{}

// sharedSettings must have one value in every platform container: the
// cluster and topic layout (co-partitioning), the stores, and the token
// settings (a token from one gateway must verify on every other).
var sharedSettings = []string{
	"AUCTION_KAFKA_BROKERS", "AUCTION_PARTITIONS", "AUCTION_REPLICATION",
	"AUCTION_DYNAMODB_ENDPOINT", "AUCTION_DYNAMODB_REGION",
	"AUCTION_USERS_TABLE", "AUCTION_NOTIFICATIONS_TABLE", "AUCTION_ANALYTICS_TABLE",
	"AUCTION_JWT_KEY", "AUCTION_JWT_ISSUER", "AUCTION_JWT_AUDIENCE",
}

func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(root, composeFile)},
		cli.WithWorkingDirectory(root),
		// No host environment: the file's own defaults are what is checked.
		cli.WithEnv(nil),
		cli.WithInterpolation(true),
		cli.WithResolvedPaths(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
	)
	if err != nil {
		t.Fatalf("compose options: %v", err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("compose-go cannot load %s: %v", composeFile, err)
	}
	return p
}

func TestCompose(t *testing.T) {
	bin := platform(t)
	p := loadCompose(t)
	names := slices.Sorted(maps.Keys(p.Services))

	// runs are the platform services that `auction run`, with their targets.
	runs := map[string][]string{}
	var targetErrs []string
	for _, n := range names {
		s := p.Services[n]
		if isPlatform(s) && command(s) == "run" {
			ts, errs := serviceTargets(s, bin.targets)
			runs[n] = ts
			targetErrs = append(targetErrs, errs...)
		}
	}

	t.Run("no version key", func(t *testing.T) {
		raw, err := os.ReadFile(repoPath(composeFile))
		if err != nil {
			t.Fatal(err)
		}
		var top map[string]any
		if err := yaml.Unmarshal(raw, &top); err != nil {
			t.Fatal(err)
		}
		if _, ok := top["version"]; ok {
			report(t, composeFile, []string{"top-level `version:` is obsolete in the Compose Specification; remove it"})
		}
	})

	t.Run("every target runs", func(t *testing.T) {
		v := slices.Clone(targetErrs)
		for _, tg := range bin.targets {
			ran := false
			for _, ts := range runs {
				ran = ran || slices.Contains(ts, tg)
			}
			if !ran {
				v = append(v, fmt.Sprintf("target %q (from `auction env`) is run by no service: add one with command [\"run\", \"-target=%s\"]", tg, tg))
			}
		}
		for _, n := range names {
			s := p.Services[n]
			if c := command(s); isPlatform(s) && c != "run" && c != "init" {
				v = append(v, fmt.Sprintf("platform service %s runs `auction %s`: want run or init", n, c))
			}
		}
		report(t, "targets", v)
	})

	t.Run("only known AUCTION variables", func(t *testing.T) {
		var v []string
		for _, n := range names {
			for _, k := range slices.Sorted(maps.Keys(p.Services[n].Environment)) {
				if _, ok := bin.settings[k]; strings.HasPrefix(k, "AUCTION_") && !ok {
					v = append(v, fmt.Sprintf("service %s sets %s, which `auction env` does not list", n, k))
				}
			}
		}
		report(t, "environment", v)
	})

	t.Run("images pinned", func(t *testing.T) {
		var v []string
		for _, n := range names {
			s := p.Services[n]
			switch {
			case s.Image == "" && s.Build == nil:
				v = append(v, fmt.Sprintf("service %s has neither image nor build", n))
			case s.Image != "":
				if why := unpinned(s.Image); why != "" {
					v = append(v, fmt.Sprintf("service %s: image %q %s", n, s.Image, why))
				}
			}
		}
		report(t, "images", v)
	})

	t.Run("host ports unique", func(t *testing.T) {
		var v []string
		type owner struct{ service, ip string }
		seen := map[string][]owner{} // "8080/tcp" -> who publishes it
		for _, n := range names {
			for _, port := range p.Services[n].Ports {
				if port.Published == "" {
					continue // an ephemeral host port cannot clash
				}
				pubs, err := expandPorts(port.Published)
				if err != nil {
					v = append(v, fmt.Sprintf("service %s: published port %q: %v", n, port.Published, err))
					continue
				}
				for _, pub := range pubs {
					key := fmt.Sprintf("%d/%s", pub, cmp.Or(port.Protocol, "tcp"))
					for _, o := range seen[key] {
						if sameHostIP(o.ip, port.HostIP) {
							v = append(v, fmt.Sprintf("host port %s is published by both %s and %s", key, o.service, n))
						}
					}
					seen[key] = append(seen[key], owner{n, port.HostIP})
				}
			}
		}
		report(t, "ports", v)
	})

	t.Run("healthchecks", func(t *testing.T) {
		var v []string
		for _, n := range names {
			s := p.Services[n]
			_, once := oneShot[n]
			reason, excused := noHealthcheck[n]
			switch {
			case once && s.Restart != "" && s.Restart != types.RestartPolicyNo:
				v = append(v, fmt.Sprintf("one-shot service %s has restart %q: it must run once (restart: \"no\")", n, s.Restart))
			case once:
			case hasHealthcheck(s) && excused:
				v = append(v, fmt.Sprintf("service %s has a healthcheck now: remove it from noHealthcheck (%q)", n, reason))
			case !hasHealthcheck(s) && !excused:
				v = append(v, fmt.Sprintf("long-running service %s has no healthcheck (add one, or list it in noHealthcheck with the reason)", n))
			}
		}
		for _, n := range slices.Sorted(maps.Keys(noHealthcheck)) {
			if _, ok := p.Services[n]; !ok {
				v = append(v, fmt.Sprintf("noHealthcheck lists %s, which is not a service", n))
			}
		}
		for _, n := range slices.Sorted(maps.Keys(oneShot)) {
			if _, ok := p.Services[n]; !ok {
				v = append(v, fmt.Sprintf("oneShot lists %s, which is not a service", n))
			}
		}
		report(t, "healthchecks", v)
	})

	t.Run("platform healthchecks ask a port the process serves", func(t *testing.T) {
		var v []string
		for _, n := range slices.Sorted(maps.Keys(runs)) {
			s := p.Services[n]
			if !hasHealthcheck(s) {
				continue
			}
			env := envOf(s)
			admin := addrPort(cmp.Or(env["AUCTION_ADMIN_ADDR"], bin.settings["AUCTION_ADMIN_ADDR"].Default))
			serves := map[string]string{}
			if admin != "" {
				serves[admin] = "AUCTION_ADMIN_ADDR"
			}
			if slices.Contains(runs[n], "gateway") {
				httpPort := addrPort(cmp.Or(env["AUCTION_HTTP_ADDR"], bin.settings["AUCTION_HTTP_ADDR"].Default))
				if httpPort == admin {
					v = append(v, fmt.Sprintf("service %s: AUCTION_HTTP_ADDR and AUCTION_ADMIN_ADDR both use port %s", n, admin))
				}
				serves[httpPort] = "AUCTION_HTTP_ADDR"
			}
			u := healthcheckURL(s.HealthCheck.Test)
			switch {
			case u == nil:
				v = append(v, fmt.Sprintf("service %s: healthcheck %q is not `auction healthcheck http://127.0.0.1:PORT/...`", n, []string(s.HealthCheck.Test)))
			case serves[u.Port()] == "":
				v = append(v, fmt.Sprintf("service %s: healthcheck asks port %s, but the process listens on %v", n, u.Port(), serves))
			}
		}
		report(t, "platform healthchecks", v)
	})

	t.Run("depends_on", func(t *testing.T) {
		var v []string
		for _, n := range names {
			s := p.Services[n]
			for _, dep := range slices.Sorted(maps.Keys(s.DependsOn)) {
				cond := s.DependsOn[dep].Condition
				target, ok := p.Services[dep]
				switch {
				case !ok:
					v = append(v, fmt.Sprintf("service %s depends on %s, which is not a service", n, dep))
				case cond == types.ServiceConditionHealthy && !hasHealthcheck(target):
					v = append(v, fmt.Sprintf("service %s waits for %s to be healthy, but %s has no healthcheck", n, dep, dep))
				case cond == types.ServiceConditionCompletedSuccessfully && oneShot[dep] == "":
					v = append(v, fmt.Sprintf("service %s waits for %s to complete, but %s is not a one-shot service", n, dep, dep))
				case cond != types.ServiceConditionHealthy && cond != types.ServiceConditionCompletedSuccessfully && cond != types.ServiceConditionStarted:
					v = append(v, fmt.Sprintf("service %s depends on %s with unknown condition %q", n, dep, cond))
				}
			}
		}
		report(t, "depends_on", v)
	})

	t.Run("init runs first", func(t *testing.T) {
		var v, inits []string
		for _, n := range names {
			if s := p.Services[n]; isPlatform(s) && command(s) == "init" {
				inits = append(inits, n)
				if oneShot[n] == "" {
					v = append(v, fmt.Sprintf("service %s runs `auction init` but is not listed in oneShot", n))
				}
				for _, dep := range []string{"kafka", "dynamodb"} {
					if got := s.DependsOn[dep].Condition; got != types.ServiceConditionHealthy {
						v = append(v, fmt.Sprintf("service %s must wait for %s to be healthy (has %q)", n, dep, got))
					}
				}
			}
		}
		if len(inits) != 1 {
			v = append(v, fmt.Sprintf("want exactly one service running `auction init`, have %v", inits))
		}
		// No component starts before the topics and tables exist: it would
		// create them itself, racing the others.
		for _, n := range slices.Sorted(maps.Keys(runs)) {
			for _, in := range inits {
				if got := p.Services[n].DependsOn[in].Condition; got != types.ServiceConditionCompletedSuccessfully {
					v = append(v, fmt.Sprintf("service %s must depend on %s with condition %s (has %q)", n, in, types.ServiceConditionCompletedSuccessfully, got))
				}
			}
			if got := p.Services[n].DependsOn["kafka"].Condition; got != types.ServiceConditionHealthy {
				v = append(v, fmt.Sprintf("service %s must depend on kafka with condition %s (has %q)", n, types.ServiceConditionHealthy, got))
			}
		}
		report(t, "init", v)
	})

	t.Run("platform settings agree", func(t *testing.T) {
		var v []string
		values := map[string]map[string][]string{} // setting -> value -> services
		for _, n := range names {
			s := p.Services[n]
			if !isPlatform(s) {
				continue
			}
			env := envOf(s)
			for _, k := range sharedSettings {
				val, ok := env[k]
				if !ok {
					val = "(default " + bin.settings[k].Default + ")"
				}
				if values[k] == nil {
					values[k] = map[string][]string{}
				}
				values[k][val] = append(values[k][val], n)
			}
			if env["AUCTION_KAFKA_BROKERS"] == "" {
				v = append(v, fmt.Sprintf("service %s has no AUCTION_KAFKA_BROKERS: it would run its own embedded broker", n))
			}
			// Users, inboxes and analytics must be one store for all
			// processes; the processor and the closer use none.
			usesStores := command(s) == "init" || slices.ContainsFunc(runs[n], func(tg string) bool {
				return tg == "gateway" || tg == "notify" || tg == "analytics"
			})
			if usesStores && env["AUCTION_STORE"] != "dynamodb" {
				v = append(v, fmt.Sprintf("service %s has AUCTION_STORE=%q: separate processes must share the dynamodb store", n, env["AUCTION_STORE"]))
			}
			if slices.Contains(runs[n], "gateway") && len(env["AUCTION_JWT_KEY"]) < 32 {
				v = append(v, fmt.Sprintf("gateway service %s: AUCTION_JWT_KEY must be set and at least 32 bytes", n))
			}
		}
		for _, k := range sharedSettings {
			if len(values[k]) > 1 {
				v = append(v, fmt.Sprintf("%s differs between platform services: %v", k, values[k]))
			}
		}
		report(t, "platform settings", v)
	})

	t.Run("processor state", func(t *testing.T) {
		var v []string
		owner := map[string]string{} // volume -> processor service
		for _, n := range slices.Sorted(maps.Keys(runs)) {
			if !slices.Contains(runs[n], "processor") {
				continue
			}
			s := p.Services[n]
			dir := envOf(s)["AUCTION_STATE_DIR"]
			if dir == "" {
				v = append(v, fmt.Sprintf("processor service %s has no AUCTION_STATE_DIR: it would rebuild its table from Kafka on every restart", n))
				continue
			}
			var vol *types.ServiceVolumeConfig
			for i := range s.Volumes {
				if s.Volumes[i].Target == dir {
					vol = &s.Volumes[i]
				}
			}
			if vol == nil {
				v = append(v, fmt.Sprintf("processor service %s: AUCTION_STATE_DIR %s is not a mounted volume", n, dir))
				continue
			}
			if other, ok := owner[vol.Source]; ok {
				v = append(v, fmt.Sprintf("processors %s and %s share the state volume %s (two goka processors must never share a LevelDB folder)", other, n, vol.Source))
			}
			owner[vol.Source] = n
		}
		report(t, "processor state", v)
	})

	t.Run("kafka advertises what clients dial", func(t *testing.T) {
		var v []string
		checked := map[string]bool{}
		for _, n := range names {
			s := p.Services[n]
			if !isPlatform(s) {
				continue
			}
			for _, b := range strings.Split(envOf(s)["AUCTION_KAFKA_BROKERS"], ",") {
				b = strings.TrimSpace(b)
				if b == "" || checked[b] {
					continue
				}
				checked[b] = true
				host, _, _ := strings.Cut(b, ":")
				broker, ok := p.Services[host]
				if !ok {
					v = append(v, fmt.Sprintf("broker %s (AUCTION_KAFKA_BROKERS of %s) is not a service", b, n))
					continue
				}
				adv := envOf(broker)["KAFKA_ADVERTISED_LISTENERS"]
				if !strings.Contains(adv, "://"+b) {
					v = append(v, fmt.Sprintf("service %s does not advertise %s (KAFKA_ADVERTISED_LISTENERS=%q): clients would be sent elsewhere", host, b, adv))
				}
			}
		}
		report(t, "kafka listeners", v)
	})

	t.Run("bind mounts exist", func(t *testing.T) {
		var v []string
		for _, n := range names {
			for _, vol := range p.Services[n].Volumes {
				if vol.Type != types.VolumeTypeBind {
					continue
				}
				if _, err := os.Stat(vol.Source); err != nil {
					v = append(v, fmt.Sprintf("service %s mounts %s, which does not exist", n, vol.Source))
				}
			}
		}
		report(t, "bind mounts", v)
	})

	t.Run("Dockerfile", func(t *testing.T) {
		v := checkDockerfile(t)
		// The platform healthchecks run the binary where the image puts it.
		for _, n := range slices.Sorted(maps.Keys(runs)) {
			if h := p.Services[n].HealthCheck; hasHealthcheck(p.Services[n]) && h.Test[1] != imageBinary {
				v = append(v, fmt.Sprintf("service %s: healthcheck runs %s, the image's binary is %s", n, h.Test[1], imageBinary))
			}
		}
		report(t, "Dockerfile", v)
	})

	t.Run("prometheus scrapes every platform service once", func(t *testing.T) {
		targets, err := prometheusTargets()
		if err != nil {
			t.Fatal(err)
		}
		var v []string
		for _, n := range slices.Sorted(maps.Keys(runs)) {
			// A published port is the API, with /metrics beside it; a
			// service without one has /metrics on its admin address.
			var want []string
			for _, port := range p.Services[n].Ports {
				want = append(want, fmt.Sprintf("%s:%d", n, port.Target))
			}
			if len(want) == 0 {
				admin := p.Services[n].Environment["AUCTION_ADMIN_ADDR"]
				if admin == nil {
					v = append(v, fmt.Sprintf("platform service %s has neither a published port nor AUCTION_ADMIN_ADDR: nothing to scrape", n))
					continue
				}
				_, port, _ := strings.Cut(*admin, ":")
				want = append(want, n+":"+port)
			}
			for _, w := range want {
				if !targets[w] {
					v = append(v, fmt.Sprintf("platform service %s serves /metrics on %s but infra/compose/prometheus.yml does not scrape it", n, w))
				}
			}
			for tg := range targets {
				if strings.HasPrefix(tg, n+":") && !slices.Contains(want, tg) {
					v = append(v, fmt.Sprintf("infra/compose/prometheus.yml scrapes %s, which %s does not serve (it serves %v)", tg, n, want))
				}
			}
		}
		report(t, "prometheus", v)
	})
}

// imageBinary is where the Dockerfile puts the binary (its ENTRYPOINT).
const imageBinary = "/usr/local/bin/auction"

var fromLine = regexp.MustCompile(`(?im)^FROM\s+(?:--platform=\S+\s+)?(\S+)`)

// checkDockerfile: every base image pinned, and the entrypoint where the
// compose healthchecks expect it.
func checkDockerfile(t *testing.T) []string {
	raw, err := os.ReadFile(repoPath("Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var v []string
	stages := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?im)^FROM\s.*\sAS\s+(\S+)`).FindAllStringSubmatch(string(raw), -1) {
		stages[strings.ToLower(m[1])] = true
	}
	for _, m := range fromLine.FindAllStringSubmatch(string(raw), -1) {
		ref := m[1]
		if stages[strings.ToLower(ref)] {
			continue // FROM an earlier stage
		}
		if why := unpinned(ref); why != "" {
			v = append(v, fmt.Sprintf("Dockerfile: FROM %s %s", ref, why))
		}
	}
	if !strings.Contains(string(raw), `ENTRYPOINT ["`+imageBinary+`"]`) {
		v = append(v, fmt.Sprintf("Dockerfile: want ENTRYPOINT [%q]", imageBinary))
	}
	return v
}

// isPlatform reports whether s runs the auction image built from this repo.
func isPlatform(s types.ServiceConfig) bool {
	if s.Build == nil {
		return false
	}
	root, _ := filepath.Abs(repoRoot)
	ctx := s.Build.Context
	if !filepath.IsAbs(ctx) {
		ctx = filepath.Join(root, ctx)
	}
	return filepath.Clean(ctx) == filepath.Clean(root)
}

// command is the auction subcommand a platform service runs; the image's
// CMD is "run".
func command(s types.ServiceConfig) string {
	if len(s.Command) == 0 {
		return "run"
	}
	return s.Command[0]
}

// serviceTargets is what `auction run` would run in s: -target from the
// command (flags win, as in the binary), else AUCTION_TARGET, else all.
func serviceTargets(s types.ServiceConfig, known []string) ([]string, []string) {
	var errs []string
	cmd := []string(s.Command)
	value, found := "", false
	for i := 0; i < len(cmd); i++ {
		a := cmd[i]
		for _, flag := range []string{"-target", "--target"} {
			switch {
			case a == flag && i+1 < len(cmd):
				value, found = cmd[i+1], true
			case strings.HasPrefix(a, flag+"="):
				value, found = strings.TrimPrefix(a, flag+"="), true
			}
		}
	}
	if !found {
		if e, ok := envOf(s)["AUCTION_TARGET"]; ok {
			value, found = e, true
		}
	}
	if !found {
		value = "all"
	}
	var out []string
	for _, tg := range strings.Split(value, ",") {
		tg = strings.TrimSpace(tg)
		switch {
		case tg == "all":
			out = append(out, known...)
		case slices.Contains(known, tg):
			out = append(out, tg)
		default:
			errs = append(errs, fmt.Sprintf("service %s: unknown target %q (the binary knows: all, %s)", s.Name, tg, strings.Join(known, ", ")))
		}
	}
	return out, errs
}

func envOf(s types.ServiceConfig) map[string]string {
	out := map[string]string{}
	for k, v := range s.Environment {
		out[k] = ""
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

func hasHealthcheck(s types.ServiceConfig) bool {
	h := s.HealthCheck
	return h != nil && !h.Disable && len(h.Test) > 0 && h.Test[0] != "NONE"
}

// healthcheckURL is the URL of an `auction healthcheck URL` test, or nil.
func healthcheckURL(test types.HealthCheckTest) *url.URL {
	args := []string(test)
	if len(args) != 4 || args[0] != "CMD" || !strings.HasSuffix(args[1], "auction") || args[2] != "healthcheck" {
		return nil
	}
	u, err := url.Parse(args[3])
	if err != nil || u.Scheme != "http" || u.Port() == "" {
		return nil
	}
	return u
}

// addrPort is the port of a listen address such as ":8081" or "0.0.0.0:8081".
func addrPort(addr string) string {
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		return addr[i+1:]
	}
	return ""
}

// unpinned says why ref is not pinned, or "" if it is: a digest, or a tag
// that is not "latest".
func unpinned(ref string) string {
	if strings.Contains(ref, "@sha256:") {
		return ""
	}
	last := ref[strings.LastIndex(ref, "/")+1:]
	_, tag, ok := strings.Cut(last, ":")
	switch {
	case !ok || tag == "":
		return "has no tag (that means latest): pin a version"
	case tag == "latest":
		return "is tagged latest: pin a version"
	}
	return ""
}

func expandPorts(published string) ([]int, error) {
	lo, hi, isRange := strings.Cut(published, "-")
	a, err := strconv.Atoi(lo)
	if err != nil {
		return nil, err
	}
	b := a
	if isRange {
		if b, err = strconv.Atoi(hi); err != nil {
			return nil, err
		}
	}
	var out []int
	for port := a; port <= b; port++ {
		out = append(out, port)
	}
	return out, nil
}

// sameHostIP: a port bound on every address clashes with any binding.
func sameHostIP(a, b string) bool {
	wildcard := func(ip string) bool { return ip == "" || ip == "0.0.0.0" || ip == "::" }
	return wildcard(a) || wildcard(b) || a == b
}

// prometheusTargets is every static target in infra/compose/prometheus.yml.
func prometheusTargets() (map[string]bool, error) {
	raw, err := os.ReadFile(repoPath("infra", "compose", "prometheus.yml"))
	if err != nil {
		return nil, err
	}
	var cfg struct {
		ScrapeConfigs []struct {
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("prometheus.yml: %w", err)
	}
	out := map[string]bool{}
	for _, sc := range cfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, tg := range st.Targets {
				out[tg] = true
			}
		}
	}
	return out, nil
}
