// Package metrics holds the platform's Prometheus metrics: one registry per
// process, the series every component reports, and the /metrics handler.
// Components take a *Metrics; nil means "not measured", so tests and
// embedders need not care. Kafka triggers and consumer lag are read from
// their owners at scrape time (see Trigger and ConsumerLag) rather than
// pushed, so the hot paths keep their own counters.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the series of one process.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests  *prometheus.CounterVec
	httpDuration  *prometheus.HistogramVec
	invocations   *prometheus.CounterVec
	invocationDur *prometheus.HistogramVec
	coldStart     *prometheus.GaugeVec
	decisions     *prometheus.CounterVec
	deadLetters   *prometheus.CounterVec
	opened        prometheus.Counter
	closed        *prometheus.CounterVec
	triggers      *triggerCollector
	lags          *lagCollector
}

// New registers the platform's series (and Go's runtime ones).
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &Metrics{reg: reg}
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "auction_http_requests_total", Help: "HTTP requests by route pattern, method and status code.",
	}, []string{"route", "method", "code"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "auction_http_request_duration_seconds", Help: "HTTP request duration by route pattern and method.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "method"})
	m.invocations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "auction_function_invocations_total", Help: "Function invocations by function and outcome (ok, error).",
	}, []string{"function", "outcome"})
	m.invocationDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "auction_function_duration_seconds", Help: "Function invocation duration.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
	}, []string{"function"})
	m.coldStart = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "auction_function_cold_start_seconds", Help: "How long each function's initialisation took.",
	}, []string{"function"})
	m.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "auction_processor_decisions_total", Help: "Bid decisions by outcome (accepted, rejected) and reject reason.",
	}, []string{"outcome", "reason"})
	m.deadLetters = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "auction_dead_letters_total", Help: "Records sent to the dead-letter topic, by consumer.",
	}, []string{"consumer"})
	m.opened = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "auction_auctions_opened_total", Help: "Auctions opened by the processor.",
	})
	m.closed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "auction_auctions_closed_total", Help: "Auctions closed by the processor, by outcome (sold, unsold).",
	}, []string{"outcome"})
	m.triggers = newTriggerCollector()
	m.lags = newLagCollector()
	for _, c := range []prometheus.Collector{m.httpRequests, m.httpDuration, m.invocations, m.invocationDur,
		m.coldStart, m.decisions, m.deadLetters, m.opened, m.closed, m.triggers, m.lags} {
		f(c)
	}
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Register adds a component's own collector (e.g. a trigger's statistics).
func (m *Metrics) Register(c prometheus.Collector) {
	if m != nil {
		m.reg.MustRegister(c)
	}
}

// HTTP is chi middleware recording each request under its route pattern
// (not the raw path, so item ids do not explode the series).
func (m *Metrics) HTTP(next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		m.httpRequests.WithLabelValues(route, r.Method, strconv.Itoa(sw.code)).Inc()
		m.httpDuration.WithLabelValues(route, r.Method).Observe(time.Since(start).Seconds())
	})
}

// Invocation records one function call.
func (m *Metrics) Invocation(function string, d time.Duration, err error) {
	if m == nil {
		return
	}
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.invocations.WithLabelValues(function, outcome).Inc()
	m.invocationDur.WithLabelValues(function).Observe(d.Seconds())
}

// ColdStart records how long a function took to initialise.
func (m *Metrics) ColdStart(function string, d time.Duration) {
	if m != nil {
		m.coldStart.WithLabelValues(function).Set(d.Seconds())
	}
}

// Decision records a bid verdict; reason is empty for an accepted bid.
func (m *Metrics) Decision(accepted bool, reason string) {
	if m == nil {
		return
	}
	outcome := "rejected"
	if accepted {
		outcome = "accepted"
	}
	m.decisions.WithLabelValues(outcome, reason).Inc()
}

// DeadLetter records a record given up on by consumer.
func (m *Metrics) DeadLetter(consumer string) {
	if m != nil {
		m.deadLetters.WithLabelValues(consumer).Inc()
	}
}

// AuctionOpened records an auction that opened.
func (m *Metrics) AuctionOpened() {
	if m != nil {
		m.opened.Inc()
	}
}

// AuctionClosed records an auction that closed, by outcome.
func (m *Metrics) AuctionClosed(outcome string) {
	if m != nil {
		m.closed.WithLabelValues(outcome).Inc()
	}
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// Flush keeps Server-Sent Events streaming through the middleware.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
