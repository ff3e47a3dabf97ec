// Package metrics keeps CloudWatch-style metrics: datapoints aggregated per minute, stored
// durably, queried by statistic, and watched by alarms.
package metrics

import "time"

// Dimension is one name/value pair that, with namespace and name, identifies a metric.
type Dimension struct {
	Name  string
	Value string
}

// Datum is one observation of a metric, as a metric filter or PutMetricData produces it.
// Metrics are kept per account and region, as CloudWatch keeps them.
type Datum struct {
	Account    string
	Region     string
	Namespace  string
	Name       string
	Dimensions []Dimension // at most 30; order does not identify the metric
	Time       time.Time
	Value      float64
	Unit       string // a CloudWatch StandardUnit; "" is None
}
