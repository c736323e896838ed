"""Explore fleetsim results: a marimo notebook.

    marimo edit notebooks/explore.py     # edit and explore
    marimo run notebooks/explore.py      # serve it read-only
    python notebooks/explore.py          # run it as a script

All simulation goes through the public API (`sim.api`); the notebook holds none.
"""
import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import html

    import marimo as mo
    import matplotlib.pyplot as plt
    import numpy as np
    import pyarrow.compute as pc
    from pathlib import Path

    from sim import api
    return Path, api, html, mo, np, pc, plt


@app.cell
def _(mo):
    folder_input = mo.ui.text(value="results/merged", label="results folder", full_width=True)
    folder_input
    return (folder_input,)


@app.cell
def _(Path, folder_input):
    results_dir = Path(folder_input.value)
    return (results_dir,)


@app.cell
def _(api, html, mo, results_dir):
    mo.stop(not (results_dir / "summary.json").exists(),
            mo.md(f"No results in {html.escape(str(results_dir))}: run `python -m sim configs/merged.yaml` first."))
    results = api.load_results(results_dir)
    return (results,)


@app.cell
def _(html, mo, results):
    def fmt(x):
        return "n/a" if x is None else f"{x:,.4g}"

    table_rows = [{"metric": r.metric, "unit": r.unit, results.variants[0]: fmt(r.variant),
                   results.variants[1]: fmt(r.baseline), "difference": fmt(r.delta),
                   "95% CI": f"[{fmt(r.ci95[0])}, {fmt(r.ci95[1])}]",
                   "significant": "yes" if r.significant else "no"} for r in results.comparison()]
    # names come from a results file: shown as text, never as markup
    _title = html.escape(f"{results.summary['scenario']}: {' against '.join(results.variants)}")
    mo.vstack([mo.md(f"## {_title}"),
               mo.ui.table(table_rows, selection=None) if table_rows else
               mo.md("This run has no baseline to compare against.")])
    return (table_rows,)


@app.cell
def _(mo, pc, results):
    _sites = sorted(pc.unique(results.timeseries["site"]).to_pylist())
    site_pick = mo.ui.dropdown(options=["all sites"] + _sites, value="all sites", label="site")
    _companies = sorted(pc.unique(results.finance["company"]).to_pylist())
    company_pick = mo.ui.dropdown(options=_companies, value=_companies[0] if _companies else None, label="company")
    mo.hstack([site_pick, company_pick])
    return company_pick, site_pick


@app.cell
def _(np, pc, plt, results, site_pick):
    def daily(_variant, key):
        _t = results.timeseries
        _keep = pc.equal(_t["variant"].cast("string"), _variant)
        if site_pick.value != "all sites":
            _keep = pc.and_(_keep, pc.equal(_t["site"].cast("string"), site_pick.value))
        _days = _t.filter(_keep).group_by("date").aggregate([(key, "sum")]).sort_by("date")
        return (_days["date"].to_numpy().astype("datetime64[D]"),
                np.nan_to_num(_days[f"{key}_sum"].to_numpy(zero_copy_only=False)))

    _fig_util, (_ax_u, _ax_c) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True)
    for _variant in results.variants:
        _days, _online = daily(_variant, "gpus_online")
        _, _alloc = daily(_variant, "gpus_allocated")
        with np.errstate(invalid="ignore", divide="ignore"):
            _ax_u.plot(_days, np.where(_online > 0, _alloc / _online, np.nan), label=_variant, lw=1)
        _ax_c.plot(_days, _alloc, label=f"{_variant}: allocated", lw=1)
    _ax_c.plot(_days, _online, "k--", lw=1, label="online")
    _ax_u.set_ylabel("utilization (allocated / online)")
    _ax_c.set_ylabel("GPUs")
    _ax_u.set_title(f"Utilization and capacity: {site_pick.value}")
    _ax_u.legend()
    _ax_c.legend()
    _fig_util.tight_layout()
    _fig_util
    return (daily,)


@app.cell
def _(np, pc, plt, results):
    _fig_wait, _ax_w = plt.subplots(figsize=(8, 4))
    _tiers = {}
    _jobs = results.jobs.filter(pc.equal(results.jobs["replica"], 0))
    _variant_of, _tier_of = _jobs["variant"].cast("string"), _jobs["tier"].cast("string")
    for _variant in pc.unique(_variant_of).to_pylist():
        for _tier in pc.unique(_tier_of).to_pylist():
            _w = _jobs.filter(pc.and_(pc.equal(_variant_of, _variant), pc.equal(_tier_of, _tier)))["wait_h"]
            _w = _w.to_numpy(zero_copy_only=False)
            if np.isfinite(_w).any():
                _tiers[(_variant, _tier)] = _w[np.isfinite(_w)]
    for (_variant, _tier), _waits in sorted(_tiers.items()):
        _w = np.sort(np.maximum(np.array(_waits), 1 / 60))
        _ax_w.step(_w, np.arange(1, _w.size + 1) / _w.size, where="post", label=f"{_variant} {_tier} (n={_w.size:,})")
    _ax_w.set_xscale("log")
    _ax_w.set_xlabel("wait before start (h, log; under 1 min drawn at 1 min)")
    _ax_w.set_ylabel("fraction of jobs")
    _ax_w.set_title("Wait-time CDF, replica 0")
    if _tiers:
        _ax_w.legend()
    _fig_wait.tight_layout()
    _fig_wait
    return


@app.cell
def _(daily, plt, results, site_pick):
    _fig_energy, (_ax_p, _ax_k) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    for _variant in results.variants:
        _days, _power = daily(_variant, "facility_power_mw")
        _, _carbon = daily(_variant, "carbon_t")
        _ax_p.plot(_days, _power, label=_variant, lw=1)
        _ax_k.plot(_days, _carbon, label=_variant, lw=1)
    _ax_p.set_ylabel("facility power (MW)")
    _ax_k.set_ylabel("carbon (t CO2e / day)")
    _ax_p.set_title(f"Energy and carbon: {site_pick.value}")
    _ax_p.legend()
    _fig_energy.tight_layout()
    _fig_energy
    return


@app.cell
def _(company_pick, np, pc, plt, results):
    _fig_fin, (_ax_e, _ax_d) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    for _variant in results.variants:
        _t = results.finance
        _keep = pc.and_(pc.equal(_t["variant"].cast("string"), _variant),
                        pc.equal(_t["company"].cast("string"), company_pick.value or ""))
        _by = _t.filter(_keep).group_by("month").aggregate([("ebitda_usd", "mean"), ("dscr_ttm", "mean")])
        if _by.num_rows == 0:
            continue
        _by = _by.sort_by("month")   # replica means, as finance.csv
        _months = _by["month"].to_numpy().astype("datetime64[M]")
        _ax_e.plot(_months, _by["ebitda_usd_mean"].to_numpy(zero_copy_only=False) / 1e6, label=_variant)
        _ax_d.plot(_months, _by["dscr_ttm_mean"].to_numpy(zero_copy_only=False), label=_variant)
    _ax_e.set_ylabel("EBITDA (USD M / month)")
    _ax_d.set_ylabel("DSCR, trailing 12 months")
    _ax_d.set_ylim(0, 5)
    _ax_d.axhline(1.0, color="k", ls="--", lw=0.8)
    _ax_e.set_title(f"Finance: {company_pick.value}")
    _ax_e.legend()
    _fig_fin.tight_layout()
    _fig_fin
    return


@app.cell
def _(mo, results):
    _tornado = results.folder / "tornado.png"
    mo.image(str(_tornado)) if _tornado.exists() else mo.md("_No sweep in this run: no tornado chart._")
    return


@app.cell
def _(mo):
    mo.md("""
    ## What if?
    Re-run a short simulation of the config with other inputs (through `sim.api.what_if`).
    """)
    return


@app.cell
def _(mo):
    config_input = mo.ui.text(value="configs/merged.yaml", label="config", full_width=True)
    fee = mo.ui.slider(60, 200, step=5, value=120, label="hosting fee (USD per kW-month)")
    energy = mo.ui.slider(0.5, 2.0, step=0.1, value=1.0, label="energy price scale")
    growth = mo.ui.slider(0.0, 0.5, step=0.02, value=0.12, label="demand growth per year")
    decline = mo.ui.slider(0.0, 0.4, step=0.02, value=0.0, label="GPU rental price decline per year")
    replicas = mo.ui.slider(1, 4, step=1, value=2, label="replicas")
    go = mo.ui.run_button(label="run what-if")
    mo.vstack([config_input, fee, energy, growth, decline, replicas, go])
    return config_input, decline, energy, fee, go, growth, replicas


@app.cell
def _(api, config_input, decline, energy, fee, go, growth, mo, replicas):
    mo.stop(not go.value, mo.md("_Set the inputs and press **run what-if**._"))
    with mo.status.spinner(title="simulating..."):
        what_if_exp = api.what_if(config_input.value, hosting_fee_usd_per_kw_month=fee.value,
                                  energy_price_scale=energy.value, demand_growth_per_year=growth.value,
                                  price_decline_per_year=decline.value, replicas=replicas.value)
    mo.ui.table([{"metric": r.metric, "variant": r.variant, "baseline": r.baseline, "difference": r.delta,
                  "95% CI": r.ci95} for r in api.compare(what_if_exp)], selection=None)
    return (what_if_exp,)


if __name__ == "__main__":
    app.run()
