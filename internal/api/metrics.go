package api

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	events   *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_api_requests_total", Help: "AWS-protocol and ingest requests, by service, operation and HTTP status.",
		}, []string{"service", "operation", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "cairn_api_request_duration_seconds", Help: "Time to answer a request.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"service", "operation"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_ingest_events_total", Help: "Events received through native ingest, by outcome.",
		}, []string{"status"}),
	}
	reg.MustRegister(m.requests, m.duration, m.events)
	return m
}
