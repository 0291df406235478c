// Package metrics holds mailwarden's Prometheus metrics. One Metrics value is
// created by serve, registered once, and passed to the stages that count.
package metrics

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the counters and histograms of one process.
type Metrics struct {
	Messages   *prometheus.CounterVec   // scanned messages by disposition and delivery mode
	ScanTime   prometheus.Histogram     // seconds to parse, authenticate and detect one message
	Deliveries *prometheus.CounterVec   // delivery attempts by result: delivered, deferred, failed
	Triggers   *prometheus.CounterVec   // triggers fired, by name
	Requests   *prometheus.HistogramVec // API request seconds by route pattern and status class
}

// New creates the metrics and registers them with reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailwarden_messages_total",
			Help: "Messages scanned and stored, by disposition and delivery mode."}, []string{"disposition", "mode"}),
		ScanTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mailwarden_scan_seconds",
			Help: "Time to parse, authenticate and detect one message.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}),
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailwarden_deliveries_total",
			Help: "Onward delivery attempts per recipient, by result."}, []string{"result"}),
		Triggers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailwarden_triggers_total",
			Help: "Verdict triggers fired, by name."}, []string{"name"}),
		Requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "mailwarden_api_request_seconds",
			Help: "API request duration by route and status class.", Buckets: prometheus.DefBuckets}, []string{"route", "status"}),
	}
	reg.MustRegister(m.Messages, m.ScanTime, m.Deliveries, m.Triggers, m.Requests)
	return m
}
