package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Sizes of the rows, as the issue that asked for them set them.
const (
	sequentialRuns = 50
	volumeBurst    = 100
	taskRunPairs   = 20
	podPairs       = 12
	presentRuns    = 5000
)

// bench measures every row of the sizing table in one run.
func (e *env) bench(ctx context.Context, scale int) (*report, error) {
	r := &report{title: fmt.Sprintf("ResultMaterialize cluster benchmark, %s", time.Now().UTC().Format(time.RFC3339))}
	idle, err := e.scrape(ctx)
	if err != nil {
		return r, err
	}
	r.note("controller replicas: %d", idle.replicas)

	var seq []time.Duration
	for _, name := range names("seq", sequentialRuns) {
		d, err := e.one(ctx, key(kindRun, name), func(ctx context.Context) error { return e.createRun(ctx, customRun(name, false, 0)) })
		if err != nil {
			return r, err
		}
		seq = append(seq, d)
	}
	r.row("one ConfigMap CustomRun, sequential", fmt.Sprint(len(seq)), ms(percentile(seq, 50)), ms(percentile(seq, 90)), "-", "min "+ms(percentile(seq, 0)), "p50 <= 50 ms")

	before, err := e.scrape(ctx)
	if err != nil {
		return r, err
	}
	cm, err := e.burstOf(ctx, kindRun, names("cm", scale), func(ctx context.Context, n string) error { return e.createRun(ctx, customRun(n, false, 0)) })
	if err != nil {
		return r, err
	}
	after, err := e.settledScrape(ctx)
	if err != nil {
		return r, err
	}
	d := after.sub(before)
	r.row(fmt.Sprintf("%d ConfigMap CustomRuns at once", scale), fmt.Sprint(scale), ms(percentile(cm, 50)), ms(percentile(cm, 90)), secs(percentile(cm, 100)),
		fmt.Sprintf("%.1f runs/s", float64(scale)/percentile(cm, 100).Seconds()), "<= 20 s")
	n := float64(scale)
	r.row("reconciles per ConfigMap run", fmt.Sprint(scale), "-", "-", fmt.Sprintf("%.2f", d.reconciles/n), "-", "<= 2")
	r.note("per-run counts are the controller's own (summed over replicas, %s after the last run was done): reconciles by the bucket's leader; writes are POST, PUT, PATCH and DELETE requests of every client, events and lease renewals included", settle)
	r.row("API writes per ConfigMap run", fmt.Sprint(scale), "-", "-", fmt.Sprintf("%.2f", d.writes()/n), fmt.Sprintf("reads %.2f", d.requests["GET"]/n), "<= 3")

	pods, err := e.burstOf(ctx, kindPod, names("pod", volumeBurst), func(ctx context.Context, n string) error { return e.createPod(ctx, barePod(n, "true", true)) })
	if err != nil {
		return r, err
	}
	before, err = e.scrape(ctx)
	if err != nil {
		return r, err
	}
	runs, err := e.burstOf(ctx, kindRun, names("pvc", volumeBurst), func(ctx context.Context, n string) error { return e.createRun(ctx, customRun(n, true, 0)) })
	if err != nil {
		return r, err
	}
	after, err = e.settledScrape(ctx)
	if err != nil {
		return r, err
	}
	d = after.sub(before)
	trs, err := e.burstOf(ctx, kindTaskRun, names("tr", volumeBurst), func(ctx context.Context, n string) error { return e.createTaskRun(ctx, taskRun(n)) })
	if err != nil {
		return r, err
	}
	floor := percentile(pods, 100)
	r.row(fmt.Sprintf("%d bare pods at once (the floor)", volumeBurst), fmt.Sprint(volumeBurst), secs(percentile(pods, 50)), secs(percentile(pods, 90)), secs(floor), "1.00x", "-")
	r.row(fmt.Sprintf("%d PVC CustomRuns at once", volumeBurst), fmt.Sprint(volumeBurst), secs(percentile(runs, 50)), secs(percentile(runs, 90)), secs(percentile(runs, 100)), ratio(percentile(runs, 100), floor)+" of bare pods", "<= 1.2x")
	r.row(fmt.Sprintf("%d one-step TaskRuns at once", volumeBurst), fmt.Sprint(volumeBurst), secs(percentile(trs, 50)), secs(percentile(trs, 90)), secs(percentile(trs, 100)),
		ratio(percentile(runs, 100), percentile(trs, 100))+" CustomRuns/TaskRuns", "-")
	vn := float64(volumeBurst)
	r.row("reconciles / API writes per PVC run", fmt.Sprint(volumeBurst), "-", "-", fmt.Sprintf("%.2f / %.2f", d.reconciles/vn, d.writes()/vn), fmt.Sprintf("reads %.2f", d.requests["GET"]/vn), "-")

	if err := e.pairs(ctx, r, taskRunPairs, "tr1", func(n string) (string, func(context.Context) error) {
		return key(kindTaskRun, n), func(ctx context.Context) error { return e.createTaskRun(ctx, taskRun(n)) }
	}, "one-step TaskRun", "<= 0.45x"); err != nil {
		return r, err
	}
	if err := e.pairs(ctx, r, podPairs, "pod1", func(n string) (string, func(context.Context) error) {
		return key(kindPod, n), func(ctx context.Context) error { return e.createPod(ctx, barePod(n, "true", true)) }
	}, "bare pod", "<= 1.1x"); err != nil {
		return r, err
	}

	rest := presentRuns - sequentialRuns - scale
	if rest > 0 {
		more, err := e.burstOf(ctx, kindRun, names("more", rest), func(ctx context.Context, n string) error { return e.createRun(ctx, customRun(n, false, 0)) })
		if err != nil {
			return r, err
		}
		r.row(fmt.Sprintf("%d more ConfigMap CustomRuns at once", rest), fmt.Sprint(rest), ms(percentile(more, 50)), ms(percentile(more, 90)), secs(percentile(more, 100)),
			fmt.Sprintf("%.1f runs/s", float64(rest)/percentile(more, 100).Seconds()), "-")
	}
	r.note("the API server's create rate, 32 creates in flight from this client (a bound on any burst row): %s", strings.Join(e.created, "; "))
	full, err := e.scrape(ctx)
	if err != nil {
		return r, err
	}
	r.row("controller RSS (largest replica)", "-", "-", "-",
		fmt.Sprintf("%.0f MiB idle, %.0f MiB after %d, %.0f MiB at %d", idle.maxRSS/(1<<20), after.maxRSS/(1<<20), sequentialRuns+scale+2*volumeBurst, full.maxRSS/(1<<20), max(presentRuns, sequentialRuns+scale)),
		"-", "< 150 MiB at 5000")
	if err := e.stage(ctx, r); err != nil {
		return r, err
	}
	return r, e.direct(ctx, r)
}

// one creates an object and returns how long until the watch saw it done.
func (e *env) one(ctx context.Context, k string, create func(context.Context) error) (time.Duration, error) {
	start := time.Now()
	if err := create(ctx); err != nil {
		return 0, err
	}
	if missing := e.waitAll(ctx, []string{k}, 3*time.Minute); len(missing) > 0 {
		return 0, fmt.Errorf("%s not done after 3m", k)
	}
	f := e.track.result(k)
	if !f.ok {
		return 0, fmt.Errorf("%s failed: %s", k, f.reason)
	}
	return f.at.Sub(start), nil
}

// burstOf creates every object at once and returns, for each, how long
// after the first create the watch saw it done.
func (e *env) burstOf(ctx context.Context, kind string, ns []string, create func(context.Context, string) error) ([]time.Duration, error) {
	start := time.Now()
	if err := burst(ctx, ns, create); err != nil {
		return nil, err
	}
	e.created = append(e.created, fmt.Sprintf("%d %ss in %s (%.0f/s)", len(ns), kind, secs(time.Since(start)), float64(len(ns))/time.Since(start).Seconds()))
	keys := make([]string, len(ns))
	for i, n := range ns {
		keys[i] = key(kind, n)
	}
	if missing := e.waitAll(ctx, keys, 10*time.Minute); len(missing) > 0 {
		return nil, fmt.Errorf("%d of %d %ss not done after 10m, first %s", len(missing), len(ns), kind, missing[0])
	}
	out := make([]time.Duration, len(keys))
	for i, k := range keys {
		f := e.track.result(k)
		if !f.ok {
			return nil, fmt.Errorf("%s failed: %s", k, f.reason)
		}
		out[i] = f.at.Sub(start)
	}
	return out, nil
}

// pairs interleaves one PVC CustomRun with one other object, n times, so
// machine noise hits both, and reports both and their ratio; for the
// CustomRuns it also reports where the time went.
func (e *env) pairs(ctx context.Context, r *report, n int, prefix string, other func(name string) (string, func(context.Context) error), what, target string) error {
	var ours, theirs []time.Duration
	var parts [4][]time.Duration
	for i := range n {
		name := fmt.Sprintf("%s-run-%d", prefix, i)
		d, err := e.one(ctx, key(kindRun, name), func(ctx context.Context) error { return e.createRun(ctx, customRun(name, true, 0)) })
		if err != nil {
			return err
		}
		ours = append(ours, d)
		f := e.track.result(key(kindRun, name))
		if st, ok := e.track.stagesOf(name + "-reader-0"); ok && !st.exited.IsZero() {
			start := f.at.Add(-d)
			parts[0] = append(parts[0], st.scheduled.Sub(start))
			parts[1] = append(parts[1], st.running.Sub(st.scheduled))
			parts[2] = append(parts[2], st.exited.Sub(st.running))
			parts[3] = append(parts[3], f.at.Sub(st.exited))
		}
		k, create := other(fmt.Sprintf("%s-other-%d", prefix, i))
		d, err = e.one(ctx, k, create)
		if err != nil {
			return err
		}
		theirs = append(theirs, d)
	}
	r.row("one PVC CustomRun vs "+what+", interleaved", fmt.Sprint(n), ms(percentile(ours, 50))+" vs "+ms(percentile(theirs, 50)),
		ms(percentile(ours, 90))+" vs "+ms(percentile(theirs, 90)), "-", ratio(percentile(ours, 50), percentile(theirs, 50))+" (p50)", target)
	if len(parts[0]) > 0 {
		r.note("where a PVC CustomRun's time goes (p50 of %d, beside %s): created to scheduled %s, scheduled to container seen running %s, running to pod seen finished %s, pod finished to run Succeeded %s",
			len(parts[0]), what, ms(percentile(parts[0], 50)), ms(percentile(parts[1], 50)), ms(percentile(parts[2], 50)), ms(percentile(parts[3], 50)))
	}
	return nil
}

// settle is how long the controller is given, after the last run is seen
// done, for the reconciles and events that follow completion.
const settle = 5 * time.Second

func (e *env) settledScrape(ctx context.Context) (counters, error) {
	time.Sleep(settle)
	return e.scrape(ctx)
}
