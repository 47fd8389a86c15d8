#!/usr/bin/env python3
"""Edges tell the truth: after an update whose old release is cached, the
edges have the new function but answer from their cache. watch --json and
the dashboard show those edges as cached-old (with the cached object's age)
and say to invalidate; a cache-bypassing probe shows the function is new
all the same; after `edgeship invalidate` the edges turn new.

Propagation is held by the simulator and moved on by the test, and the
edges' caches are pinned (they never expire during the test): nothing here
races the clock."""

import json

import release
from release import screen


def deploy(app):
    return app.run("deploy", "--yes", "--wait", "--poll-interval", "300")


def watch_json(app, stage="staging"):
    rc, out, err = app.run("watch", "--json", "--stage", stage, timeout=120)
    docs = []
    for line in out.splitlines():
        try:
            docs.append(json.loads(line))
        except ValueError:
            return rc, [], out + err
    return rc, docs, err


def last_view(docs, stage="staging"):
    views = [d for d in docs if d.get("type") == "stage" and d.get("stage") == stage]
    return views[-1] if views else {}


def main(tap, sim, app):
    sim.config(propagation_min=600.0, propagation_max=900.0)
    sim.ctl("POST", "/edges/cache", {"pin": True})
    # The query string is part of this app's cache key, and staging samples
    # with a cache-bypassing query too (probe-bypass).
    app.commit_change("template.yaml", "QueryString: false", "QueryString: true",
                      "query strings are part of the cache key")
    conf = open(app.conf_path).read()
    conf = conf.replace('[stage "staging"]\n', '[stage "staging"]\n\tprobe-bypass = ?fresh\n', 1)
    open(app.conf_path, "w").write(conf)
    app.git("commit", "-q", "-am", "staging samples the function bypassing the cache")

    # 1. Release r1 reaches every edge; watch's own sampling caches it there.
    rc, out, err = deploy(app)
    tap.ok(rc == 0, "r1 deploys to staging", err)
    dist_id = app.status("staging")["distribution_id"]
    sim.ctl("POST", "/distributions/advance", {"id": dist_id})
    rc, docs, err = watch_json(app)
    view = last_view(docs)
    tap.ok(rc == 0 and view.get("edges_new") == len(sim.edges)
           and all(e["state"] == "new" for e in view.get("edges", [])),
           "r1: every sampled edge serves the new release", view or err)
    tap.ok(docs and docs[-1].get("type") == "settled" and docs[-1].get("settled_with_cache") is False,
           "r1: watch ends settled, nothing answered from cache", docs[-1:])
    cached = [c for e in sim.ctl("GET", "/edges")["edges"] for c in e["cache"]
              if c["key"] in ("/", "/?")]
    tap.eq(len(cached), len(sim.edges), "every edge now holds r1's answer for / in its cache")

    # 2. Release r2: the distribution reaches Deployed, the cache still has r1.
    app.commit_change("src/index.js", "const RELEASE = 'r1';", "const RELEASE = 'r2';", "r2")
    rc, out, err = deploy(app)
    tap.ok(rc == 0, "r2 deploys to staging", err)
    sim.ctl("POST", "/distributions/advance", {"id": dist_id})
    rc, docs, err = watch_json(app)
    view = last_view(docs)
    edges = view.get("edges", [])
    tap.ok(rc == 0 and edges and all(e["state"] == "cached-old" for e in edges),
           "r2 Deployed: every sampled edge is cached-old", edges or err)
    tap.ok(edges and all(e["x_cache"].startswith("Hit") and isinstance(e["age_s"], int)
                         and e["age_s"] >= 0 for e in edges),
           "each cached-old edge carries X-Cache Hit and the Age of its object", edges)
    tap.ok(edges and all(e.get("function_state") == "new" for e in edges)
           and view.get("edges_function_new") == len(sim.edges),
           "bypassing the cache, every edge's function already serves r2", edges)
    tap.ok(view.get("distribution_status") == "Deployed" and view.get("edges_cached_old") == len(sim.edges)
           and view.get("settled_with_cache") is True,
           "the stage is Deployed with every sampled edge answering from cache", view)
    tap.ok(docs and docs[-1] == {"type": "settled", "settled_with_cache": True,
                                 "cached_stages": ["staging"]},
           "watch --json does not end plainly settled: staging is settled with cache", docs[-1:])
    tap.ok(any(d.get("type") == "activity" and "still answer from cache" in d.get("text", "")
               for d in docs),
           "the activity log says the edges still answer from cache", docs)

    rc, out, err = app.run("watch", "--stage", "staging", timeout=120)
    tap.ok(rc == 0 and "run `edgeship invalidate --stage staging`" in out
           and "cached-old" in out and not out.strip().endswith("\nsettled"),
           "watch names the cached edges and the command that makes r2 live", out)

    # 3. The dashboard's Propagation pane: the grid and the hint.
    # The first round learns the distribution, the next its status and edges:
    # the script waits until the hint is on the screen.
    rc, out, err = release.run_script(app, "cached", """\
:wait-idle
:wait-text I invalidates
:wait-idle
:dump-screen {tmp}/cached.txt
q
""", cols=140, lines=40)
    scr = screen(app, "cached.txt")
    tap.ok(rc == 0 and f"{len(sim.edges)} edges still answer from cache \u2014 I invalidates" in scr,
           "the Propagation pane says the edges answer from cache and that I invalidates", scr)
    tap.ok(scr.count("~ ") >= len(sim.edges) and "cached" in scr and "fn new" in scr
           and "~ cached-old" in scr,
           "the grid marks each cached edge with ~, its age, the function's state, and a legend", scr)

    # 4. Invalidate: the edges answer r2.
    rc, out, err = app.run("invalidate", "--yes", "--stage", "staging", "/*", "--wait", "--poll-interval", "300")
    tap.ok(rc == 0, "the invalidation completes", err)
    rc, docs, err = watch_json(app)
    view = last_view(docs)
    edges = view.get("edges", [])
    tap.ok(rc == 0 and edges and all(e["state"] == "new" for e in edges)
           and view.get("edges_new") == len(sim.edges) and view.get("edges_cached_old") == 0,
           "after the invalidation every sampled edge serves r2", edges or err)
    tap.ok(docs and docs[-1] == {"type": "settled", "settled_with_cache": False, "cached_stages": []},
           "and watch ends plainly settled", docs[-1:])
    rc, out, err = app.run("watch", "--stage", "staging", timeout=120)
    tap.ok(rc == 0 and out.strip().endswith("settled") and "invalidate" not in out.splitlines()[-1],
           "watch's text ends settled", out)
    tap.ok(not release.BLOCKED, "no dashboard waited synchronously on its loop", release.BLOCKED)


if __name__ == "__main__":
    release.run(main)
