package awsproto

import (
	"strings"
	"testing"
	"time"
)

type queryInput struct {
	Namespace  string
	MetricData []struct {
		MetricName      string
		Dimensions      []struct{ Name, Value string }
		Value           *float64
		Values          []float64
		Timestamp       *Timestamp
		StatisticValues *struct{ Sum, SampleCount *float64 }
	}
	ActionsEnabled *bool
	Period         *int
	Renamed        string `json:"ThresholdMetricId"`
	AlarmNames     []string
}

func TestDecodeQuery(t *testing.T) {
	form := "Action=PutMetricData&Version=2010-08-01&Namespace=App&ActionsEnabled=false&Period=300&ThresholdMetricId=m1" +
		"&MetricData.member.1.MetricName=Latency&MetricData.member.1.Value=1.5&MetricData.member.1.Timestamp=2026-01-02T03%3A04%3A05Z" +
		"&MetricData.member.1.Dimensions.member.1.Name=Host&MetricData.member.1.Dimensions.member.1.Value=h" +
		"&MetricData.member.2.MetricName=Sizes&MetricData.member.2.Values.member.1=1&MetricData.member.2.Values.member.2=2" +
		"&MetricData.member.2.StatisticValues.Sum=3&AlarmNames="
	q, err := ParseQuery([]byte(form))
	if err != nil {
		t.Fatal(err)
	}
	var in queryInput
	if err := DecodeQuery(q, &in); err != nil {
		t.Fatal(err)
	}
	m := in.MetricData
	if in.Namespace != "App" || *in.ActionsEnabled || *in.Period != 300 || in.Renamed != "m1" || len(m) != 2 ||
		*m[0].Value != 1.5 || !m[0].Timestamp.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) || m[0].Dimensions[0].Value != "h" ||
		m[1].Value != nil || len(m[1].Values) != 2 || *m[1].StatisticValues.Sum != 3 || m[1].StatisticValues.SampleCount != nil ||
		in.AlarmNames == nil || len(in.AlarmNames) != 0 {
		t.Fatalf("%+v", in)
	}
	for form, member := range map[string]string{
		"Action=X&Period=five":                             "Period",
		"Action=X&ActionsEnabled=maybe":                    "ActionsEnabled",
		"Action=X&MetricData.member.1.Value=NaN":           "MetricData.member.1.Value",
		"Action=X&MetricData.member.3.Timestamp=yesterday": "MetricData.member.3.Timestamp",
		"Action=X&Period=99999999999999999999":             "Period",
	} {
		q, _ := ParseQuery([]byte(form))
		var in queryInput
		if err := DecodeQuery(q, &in); err == nil || !strings.Contains(err.Message, member) || err.Code != "InvalidParameterValue" {
			t.Errorf("%s: %v, want InvalidParameterValue naming %s", form, err, member)
		}
	}
}

func FuzzDecodeQuery(f *testing.F) {
	f.Add("Action=PutMetricData&Namespace=A&MetricData.member.1.MetricName=m&MetricData.member.1.Value=1&MetricData.member.1.Dimensions.member.1.Name=x")
	f.Add("Action=X&AlarmNames.member.2=b&AlarmNames.member.1=a&Period=60")
	f.Fuzz(func(t *testing.T, form string) {
		q, err := ParseQuery([]byte(form))
		if err != nil {
			return
		}
		var in queryInput
		DecodeQuery(q, &in)
	})
}
