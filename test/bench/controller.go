package main

import (
	"bufio"
	"bytes"
	"context"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// controllerSelector finds the controller's replicas.
const controllerSelector = "app.kubernetes.io/name=controller,app.kubernetes.io/part-of=resultmaterialize"

// counters are the controller's own figures, summed over its replicas:
// reconciles done, API requests by method, and the largest resident set.
type counters struct {
	reconciles float64
	requests   map[string]float64
	maxRSS     float64
	replicas   int
}

func (c counters) writes() float64 {
	return c.requests["POST"] + c.requests["PUT"] + c.requests["PATCH"] + c.requests["DELETE"]
}

// sub is c minus an earlier reading; the resident set is c's.
func (c counters) sub(before counters) counters {
	d := counters{reconciles: c.reconciles - before.reconciles, requests: map[string]float64{}, maxRSS: c.maxRSS, replicas: c.replicas}
	for m, v := range c.requests {
		d.requests[m] = v - before.requests[m]
	}
	return d
}

// scrape reads every replica's /metrics through the API server's pod
// proxy.
func (e *env) scrape(ctx context.Context) (counters, error) {
	c := counters{requests: map[string]float64{}}
	pods, err := e.kube.CoreV1().Pods(controllerNamespace).List(ctx, metav1.ListOptions{LabelSelector: controllerSelector})
	if err != nil {
		return c, err
	}
	for _, pod := range pods.Items {
		if pod.Status.PodIP == "" || pod.DeletionTimestamp != nil {
			continue
		}
		raw, err := e.kube.CoreV1().Pods(controllerNamespace).ProxyGet("http", pod.Name, "9090", "metrics", nil).DoRaw(ctx)
		if err != nil {
			return c, err
		}
		c.replicas++
		sc := bufio.NewScanner(bytes.NewReader(raw))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			name, labels, value, ok := sample(line)
			if !ok {
				continue
			}
			switch name {
			case "resultmaterialize_reconciles_total":
				c.reconciles += value
			case "kn_k8s_client_http_response_status_code_total":
				c.requests[label(labels, "http_request_method")] += value
			case "process_resident_memory_bytes":
				c.maxRSS = max(c.maxRSS, value)
			}
		}
	}
	return c, nil
}

// sample splits one line of the Prometheus text format.
func sample(line string) (name, labels string, value float64, ok bool) {
	if line == "" || strings.HasPrefix(line, "#") {
		return "", "", 0, false
	}
	sp := strings.LastIndexByte(line, ' ')
	if sp < 0 {
		return "", "", 0, false
	}
	v, err := strconv.ParseFloat(line[sp+1:], 64)
	if err != nil {
		return "", "", 0, false
	}
	head := line[:sp]
	if i := strings.IndexByte(head, '{'); i >= 0 {
		return head[:i], head[i:], v, true
	}
	return head, "", v, true
}

func label(labels, name string) string {
	_, rest, found := strings.Cut(labels, name+`="`)
	if !found {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}
