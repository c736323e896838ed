"""Explore fleetsim results: a marimo notebook.

    fleetsim view results/merged          # serve it on a results folder (marimo run)
    marimo edit notebooks/explore.py      # edit and explore
    python notebooks/explore.py           # run it as a script

`fleetsim view FOLDER [--config CONFIG]` passes the folder and the config its what-ifs start
from (`-- --folder ... --config ...` to marimo). All simulation goes through the public API
(`sim.api`); the notebook holds none. For a file to send around, `report.html` in the results
folder is the self-contained version.
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
    cli = mo.cli_args()
    folder_input = mo.ui.text(value=str(cli.get("folder") or "results/merged"), label="results folder",
                              full_width=True)
    folder_input
    return cli, folder_input


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
def _(api, html, mo, results):
    _names = results.variants
    table_rows = []
    for _r in results.comparison():
        _a = results.summary["variants"][_names[0]]["metrics"][_r.metric]
        _b = results.summary["variants"][_names[1]]["metrics"][_r.metric]
        table_rows.append({"metric": _r.metric, "unit": _r.unit, _names[0]: api.format_interval(_a, _r.unit),
                           _names[1]: api.format_interval(_b, _r.unit),
                           f"{_names[0]} - {_names[1]} [95% CI]": api.format_interval(
                               {"delta": _r.delta, "ci95": _r.ci95}, _r.unit),
                           "significant": "yes" if _r.significant else "no"})
    # names come from a results file: shown as text, never as markup
    _title = html.escape(f"{results.summary['scenario']}: {' against '.join(_names)}")
    mo.vstack([mo.md(f"## {_title}"),
               mo.ui.table(table_rows, selection=None, page_size=50) if table_rows else
               mo.md("This run has no baseline to compare against.")])
    return (table_rows,)


@app.cell
def _(mo, pc, results):
    _sites = sorted(pc.unique(results.timeseries["site"].cast("string")).to_pylist())
    site_pick = mo.ui.dropdown(options=["all sites"] + _sites, value="all sites", label="site")
    _by_variant = [set(pc.unique(results.finance.filter(pc.equal(results.finance["variant"].cast("string"), _v))
                                 ["company"].cast("string")).to_pylist()) for _v in results.variants]
    _everywhere = sorted(set.intersection(*_by_variant)) if _by_variant else []   # in every variant: the merged one
    _companies = _everywhere + sorted(set.union(*_by_variant) - set(_everywhere)) if _by_variant else []
    company_pick = mo.ui.dropdown(options=_companies, value=_companies[0] if _companies else None, label="company")
    mo.hstack([site_pick, company_pick])
    return company_pick, site_pick


@app.cell
def _():
    LINE = ("-", "--")   # the baseline dashed, so identical curves stay visible
    return (LINE,)


@app.cell
def _(LINE, np, pc, plt, results, site_pick):
    def daily(_variant, key):
        _t = results.timeseries
        _keep = pc.equal(_t["variant"].cast("string"), _variant)
        if site_pick.value != "all sites":
            _keep = pc.and_(_keep, pc.equal(_t["site"].cast("string"), site_pick.value))
        _days = _t.filter(_keep).group_by("date").aggregate([(key, "sum")]).sort_by("date")
        return (_days["date"].to_numpy().astype("datetime64[D]"),
                np.nan_to_num(_days[f"{key}_sum"].to_numpy(zero_copy_only=False)))

    _fig_util, (_ax_u, _ax_c) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True)
    for _i, _variant in enumerate(results.variants):
        _days, _online = daily(_variant, "gpus_online")
        _, _alloc = daily(_variant, "gpus_allocated")
        with np.errstate(invalid="ignore", divide="ignore"):
            _ax_u.plot(_days, np.where(_online > 0, _alloc / _online, np.nan), label=_variant, lw=1, ls=LINE[_i])
        _ax_c.plot(_days, _alloc, label=f"{_variant}: allocated", lw=1, ls=LINE[_i], color=f"C{_i}")
        _ax_c.plot(_days, _online, lw=2, alpha=0.35, color=f"C{_i}", label=f"{_variant}: online")
    _ax_u.set_ylabel("utilization (allocated / online)")
    _ax_c.set_ylabel("GPUs")
    _ax_u.set_title(f"Utilization and capacity: {site_pick.value}")
    _ax_u.legend()
    _ax_c.legend()
    _fig_util.tight_layout()
    _fig_util
    return (daily,)


@app.cell
def _(LINE, np, pc, plt, results):
    _fig_wait, _ax_w = plt.subplots(figsize=(8, 4))
    _jobs = results.jobs.filter(pc.equal(results.jobs["replica"], 0))
    _variant_of, _tier_of = _jobs["variant"].cast("string"), _jobs["tier"].cast("string")
    _drawn = False
    for _i, _variant in enumerate(results.variants):
        for _tier in pc.unique(_tier_of).to_pylist():
            _w = _jobs.filter(pc.and_(pc.equal(_variant_of, _variant), pc.equal(_tier_of, _tier)))["wait_h"]
            _w = np.sort(_w.to_numpy(zero_copy_only=False))
            _w = _w[np.isfinite(_w)]
            _longer = _w[_w > 1 / 60]
            if _longer.size == 0:
                continue
            _share = (_w.size - np.searchsorted(_w, _longer, side="right")) / _w.size
            _ax_w.step(np.concatenate([[1 / 60], _longer]), np.concatenate([[_longer.size / _w.size], _share]),
                       where="post", ls=LINE[_i], label=f"{_variant} {_tier}: {_longer.size / _w.size:.2%} over 1 min")
            _drawn = True
    _ax_w.set_xscale("log")
    _ax_w.set_yscale("log")
    _ax_w.set_xlabel("wait t before start (h, log, from 1 min)")
    _ax_w.set_ylabel("share of jobs waiting longer than t")
    _ax_w.set_title("Job waits, replica 0")
    if _drawn:
        _ax_w.legend()
    _fig_wait.tight_layout()
    _fig_wait
    return


@app.cell
def _(LINE, daily, plt, results, site_pick):
    _fig_energy, (_ax_p, _ax_k) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    for _i, _variant in enumerate(results.variants):
        _days, _power = daily(_variant, "facility_power_mw")
        _, _carbon = daily(_variant, "carbon_t")
        _ax_p.plot(_days, _power, label=_variant, lw=1, ls=LINE[_i])
        _ax_k.plot(_days, _carbon, label=_variant, lw=1, ls=LINE[_i])
    _ax_p.set_ylabel("facility power (MW)")
    _ax_k.set_ylabel("carbon (t CO2e / day)")
    _ax_p.set_title(f"Energy and carbon: {site_pick.value}")
    _ax_p.legend()
    _fig_energy.tight_layout()
    _fig_energy
    return


@app.cell
def _(LINE, company_pick, np, pc, plt, results):
    _fig_fin, (_ax_e, _ax_d) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    for _i, _variant in enumerate(results.variants):
        _t = results.finance
        _keep = pc.and_(pc.equal(_t["variant"].cast("string"), _variant),
                        pc.equal(_t["company"].cast("string"), company_pick.value or ""))
        _by = _t.filter(_keep).group_by("month").aggregate([("ebitda_usd", "mean"), ("dscr_ttm", "mean")])
        if _by.num_rows == 0:
            continue
        _by = _by.sort_by("month")   # replica means, as finance.csv
        _months = _by["month"].to_numpy().astype("datetime64[M]")
        _mark = "o" if _by.num_rows < 3 else None   # a short run's one or two months stay visible
        _ax_e.plot(_months, _by["ebitda_usd_mean"].to_numpy(zero_copy_only=False) / 1e6, label=_variant,
                   ls=LINE[_i], marker=_mark)
        _ax_d.plot(_months, _by["dscr_ttm_mean"].to_numpy(zero_copy_only=False), label=_variant, ls=LINE[_i],
                   marker=_mark)
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
    Re-run the config with other inputs (through `sim.api.what_if`), compared with the loaded run.
    Each input starts at the config's own value; an input left there is not changed.
    """)
    return


@app.cell
def _(cli, mo):
    config_input = mo.ui.text(value=str(cli.get("config") or "configs/merged.yaml"), label="config",
                              full_width=True)
    config_input
    return (config_input,)


@app.cell
def _(api, config_input, html, mo, results):
    try:
        defaults = api.what_if_defaults(config_input.value)
    except api.ConfigError as _exc:
        defaults = None
    mo.stop(defaults is None, mo.md(f"Cannot read {html.escape(config_input.value)}: set the config to re-run."))
    _fee = defaults["hosting_fee_usd_per_kw_month"]
    fee = mo.ui.slider(0, max(300, int(2 * (_fee or 0))), step=5, value=round(_fee or 0), show_value=True,
                       disabled=_fee is None, label="hosting fee (USD per kW-month)")
    energy = mo.ui.slider(0.5, 2.0, step=0.05, value=1.0, show_value=True, label="energy price scale")
    growth = mo.ui.slider(-0.5, 1.0, step=0.02, value=round(defaults["demand_growth_per_year"] or 0.0, 2),
                          show_value=True, disabled=defaults["demand_growth_per_year"] is None,
                          label="demand growth per year")
    decline = mo.ui.slider(0.0, 0.6, step=0.02, value=round(defaults["price_decline_per_year"] or 0.0, 2),
                           show_value=True, disabled=defaults["price_decline_per_year"] is None,
                           label="GPU rental price decline per year")
    replicas = mo.ui.slider(1, 8, step=1, value=min(8, results.summary["replicas"]), show_value=True,
                            label="replicas")
    go = mo.ui.run_button(label="run what-if")
    mo.vstack([fee, energy, growth, decline, replicas, go])
    return decline, defaults, energy, fee, go, growth, replicas


@app.cell
def _(api, config_input, decline, defaults, energy, fee, go, growth, html, mo, replicas, results):
    mo.stop(not go.value, mo.md("_Set the inputs and press **run what-if**._"))

    def _changed(slider, key, digits=2):   # an input left at the config's value is not edited (nor rounded)
        own = defaults[key]
        return None if own is None or slider.value == round(own, digits) else slider.value

    with mo.status.spinner(title="simulating..."):
        what_if_exp = api.what_if(config_input.value,
                                  hosting_fee_usd_per_kw_month=_changed(fee, "hosting_fee_usd_per_kw_month", 0),
                                  energy_price_scale=energy.value,
                                  demand_growth_per_year=_changed(growth, "demand_growth_per_year"),
                                  price_decline_per_year=_changed(decline, "price_decline_per_year"),
                                  replicas=replicas.value)
    _names = results.variants
    _loaded = results.summary["variants"][_names[0]]["metrics"]
    _new = what_if_exp.summary["variants"][_names[0]]["metrics"] if _names[0] in what_if_exp.summary["variants"] \
        else next(iter(what_if_exp.summary["variants"].values()))["metrics"]
    _paired = what_if_exp.summary.get("comparison", {})
    what_if_rows = []
    for _metric in api.KEY_METRICS + ("hosting_fees_usd", "revenue_usd", "npv_with_terminal_usd"):
        if _metric not in _loaded or _metric not in _new:
            continue
        _unit = _new[_metric]["unit"]
        _change = None if _new[_metric]["mean"] is None or _loaded[_metric]["mean"] is None \
            else _new[_metric]["mean"] - _loaded[_metric]["mean"]
        what_if_rows.append({"metric": _metric, f"loaded {_names[0]}": api.format_value(_loaded[_metric]["mean"], _unit),
                             f"what-if {_names[0]}": api.format_interval(_new[_metric], _unit),
                             "change": api.format_value(_change, _unit),
                             f"what-if {_names[0]} - {_names[1]}": api.format_interval(_paired.get(_metric), _unit)})
    _head = list(what_if_rows[0]) if what_if_rows else []
    _table = "\n".join(["| " + " | ".join(html.escape(h) for h in _head) + " |",
                        "|" + "---|" * len(_head),
                        *("| " + " | ".join(html.escape(str(v)) for v in r.values()) + " |" for r in what_if_rows)])
    mo.md(f"### What-if against the loaded run ({what_if_exp.replicas} replicas)\n\n{_table}")
    return what_if_exp, what_if_rows


if __name__ == "__main__":
    app.run()
