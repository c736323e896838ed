"""Statements in words: demand beyond capacity, shortfalls and rejected jobs (terminal and
report), and the report's notes on contracts, debt and the merger."""
from __future__ import annotations

import numpy as np

from kernels.stats import mean_ci95

from ..experiment.runner import Experiment
from ..experiment.stats import proportion_ci95
from ..metrics import interval_bounds
from ..money.contracts import hosting_contract_value_usd
from ..money.valuation import discount_factors
from .tables import fmt_value


def warnings(exp: Experiment) -> list[str]:
    """Plain statements of demand beyond capacity, per variant."""
    out = []
    for v in exp.variants:
        for node_type, load in v.account.offered_load.items():
            if load > 1.0:
                out.append(f"{v.name}: demand exceeds capacity for {node_type}: offered load {load:.2f} "
                           f"of online GPU-hours; queues grow and waits are censored at the horizon")
        short = v.metrics.get("reserved_shortfall_gpu_hours")
        if short is not None and np.nanmean(short) > 0:
            out.append(f"{v.name}: reserved capacity was not delivered in full: "
                       f"{fmt_value(float(np.nanmean(short)))} GPU-hours short (replica mean)")
        unfinished = np.nanmean(v.metrics["jobs_unfinished"])
        submitted = np.nanmean(v.metrics["jobs_submitted"])
        if submitted and unfinished / submitted > 0.05:
            out.append(f"{v.name}: {unfinished / submitted:.0%} of jobs were still queued or running at the horizon")
        rejected = np.nanmean(v.metrics["jobs_rejected"])
        if rejected > 0:
            out.append(f"{v.name}: {rejected:,.0f} jobs can never fit the cluster they were sent to and were "
                       f"rejected (counted in jobs_rejected)")
        skipped = v.metrics.get("trace_rows_skipped")
        if skipped is not None and np.nanmax(skipped) > 0:
            out.append(f"{v.name}: {np.nanmax(skipped):,.0f} bad trace rows were skipped (skip_bad_rows)")
    return out


def finance_notes(exp: Experiment) -> list[str]:
    """Contracts and money: the hosting contracts' value and bill at full ramp, debt and
    covenants per company and, for a merger, the buyer's net annual saving against its claim,
    the value to the buyer against the price, and where the paired NPV difference comes from."""

    def usd(x) -> str:
        return f"USD {fmt_value(float(x), 'USD')}"

    def with_ci(samples, floor: float = -np.inf) -> str:
        """Mean and 95% interval; `floor`: the least the amount can be (0 for fees and credits),
        which the interval never goes below."""
        mean, lo, hi = mean_ci95(np.asarray(samples, dtype=np.float64))
        return usd(mean) + (f" [{fmt_value(max(float(lo), floor), 'USD')}, {fmt_value(float(hi), 'USD')}]"
                            if np.isfinite(lo) else "")

    out = []
    contracts = exp.variants[-1].scenario
    if contracts.hosting_contracts:
        value = sum(hosting_contract_value_usd(contracts, h) for h in contracts.hosting_contracts)
        out.append(f"- Hosting contracts: {len(contracts.hosting_contracts)}, worth {usd(value)} in fees over their "
                   f"terms and exercised renewals (configured dates, no delays).")
    full_ramp = {}
    for v in exp.variants:
        fees = v.finance.lines["hosting_fees_paid_usd"].sum(axis=1)            # (R, M)
        if fees.any():
            mean = fees.mean(axis=0)
            m = int(np.argmax([mean[k:k + 12].sum() for k in range(max(1, mean.size - 11))]))
            full_ramp[v.name] = m
            out.append(f"- {v.name}: the clients' annual hosting bill at full ramp (largest 12 months, from "
                       f"{v.account.month_starts[m]:%Y-%m}): {with_ci(fees[:, m:m + 12].sum(axis=1), floor=0.0)}.")
    if len(exp.variants) == 2 and exp.variants[0].scenario.merger and exp.variants[0].scenario.merger.into \
            in exp.variants[1].finance.companies:
        out += _merger_notes(exp, full_ramp, usd, with_ci)
    out += ["", "### Debt and covenants", ""]
    for v in exp.variants:
        metrics = v.metrics
        for name in v.finance.companies:
            dscr = np.nanmean(metrics[f"min_dscr[{name}]"]) if np.isfinite(metrics[f"min_dscr[{name}]"]).any() \
                else np.nan
            ltc = metrics[f"max_loan_to_collateral[{name}]"]
            breach = float(np.mean(metrics[f"covenant_breach_months[{name}]"]))
            debt = v.finance.lines["debt_outstanding_usd"][:, v.finance.companies.index(name), 0].mean()
            parts = [f"debt at the start {usd(debt)}",
                     f"lowest trailing-12-month DSCR {fmt_value(float(dscr), 'ratio')}x" if np.isfinite(dscr)
                     else "no scheduled debt service"]
            if np.isfinite(ltc).any():
                parts.append(f"highest GPU loan-to-collateral {np.nanmean(ltc):.2f}")
            parts.append(f"{breach:.1f} of {v.finance.lines['covenant_breach'].shape[2]} months in covenant breach"
                         if breach else "no covenant breach")
            out.append(f"- {v.name}, {name}: " + "; ".join(parts) + " (replica means); " + _lender_view(v, name, usd)
                       + ".")
        lines = v.finance.lines
        for c, name in enumerate(v.finance.companies):   # a host living off one client
            fees = lines["hosting_fees_received_usd"][:, c].sum()
            revenue = fees + sum(lines[k][:, c].sum() for k in ("revenue_reserved_usd", "revenue_on_demand_usd",
                                                                 "revenue_spot_usd", "revenue_legacy_usd",
                                                                 "revenue_converted_usd")) \
                - lines["sla_credits_usd"][:, c].sum()
            clients = {h.client for h in v.scenario.hosting_contracts if v.scenario.owner_of(h.host) == name
                       and v.scenario.owner_of(h.client) != name}
            if fees > 0 and revenue > 0 and len(clients) == 1:
                out.append(f"- {v.name}, {name}: {fees / revenue:.0%} of its revenue comes from one hosting client "
                           f"({clients.pop()}): a single-counterparty risk that also carries its debt service.")
    credits = [v for v in exp.variants if np.nanmean(v.metrics["sla_credits_usd"]) > 0]
    if any(h.delivery_delay for h in contracts.hosting_contracts) or credits:
        out.append("- SLA credits to tenants for reserved GPUs not delivered (late, failed or oversold capacity): "
                   + "; ".join(f"{v.name} {with_ci(v.metrics['sla_credits_usd'], floor=0.0)}" for v in exp.variants) + ".")
    return ["", "## Finance", ""] + out


def _merger_notes(exp: Experiment, full_ramp: dict, usd, with_ci) -> list[str]:
    """The buyer's view of a merger against its standalone baseline (paired replicas)."""
    merged, base = exp.variants
    deal = merged.scenario.merger
    into = deal.into
    mi, bi = merged.finance.companies.index(into), base.finance.companies.index(into)
    m = full_ramp.get(base.name, 0)
    window = slice(m, m + 12)
    diff = lambda line: (merged.finance.lines[line][:, mi, window].sum(axis=1)
                         - base.finance.lines[line][:, bi, window].sum(axis=1))
    saving = diff("ebitda_usd")
    out = [f"- {into}'s net annual saving from the merger over the same 12 months (its EBITDA merged minus "
           f"standalone, paired replicas): {with_ci(saving)}."]
    parts = {"hosting fees avoided": -diff("hosting_fees_paid_usd"), "site opex taken on": -diff("site_opex_usd"),
             "energy": -diff("energy_usd"), "opex": -diff("opex_usd"),
             "legacy loads": diff("revenue_legacy_usd") + diff("revenue_converted_usd") - diff("legacy_energy_usd"),
             "hosting fees received": diff("hosting_fees_received_usd"),
             "tenant revenue net of SLA credits": diff("revenue_reserved_usd") + diff("revenue_on_demand_usd")
             + diff("revenue_spot_usd") - diff("sla_credits_usd"),
             "synergies less integration cost": diff("synergies_usd") - diff("integration_cost_usd")}
    shown = [f"{k} {usd(x.mean())}" for k, x in parts.items() if abs(x.mean()) >= 1e-3 * max(abs(saving.mean()), 1)]
    if shown:
        out.append("- That saving is: " + "; ".join(shown) + ".")
    if deal.claimed_savings_usd_per_year:
        ratio = saving.mean() / deal.claimed_savings_usd_per_year
        verdict = "near the claim" if 0.8 <= ratio <= 1.25 else "above the claim" if ratio > 1 else "below the claim"
        out.append(f"- The buyer claimed about {usd(deal.claimed_savings_usd_per_year)} a year of savings; the "
                   f"modelled saving is {ratio:.0%} of it: **{verdict}** (within -20%/+25% counts as near).")
    cash = diff("fcf_usd")
    out.append(f"- In cash (free cash flow, same months) the saving is {with_ci(cash)}: besides EBITDA, the "
               f"fit-out netting that standalone recovers from the host ({usd(-diff('fitout_recovered_usd').mean())})"
               f", capex and prepayment timing.")

    def pv(v, lines, sign=1.0):
        """Present value per replica of lines summed over the variant's companies."""
        rates = [next(c.discount_rate for c in v.scenario.companies if c.name == n) for n in v.finance.companies]
        discount = discount_factors(rates, v.finance.lines["fcf_usd"].shape[2])
        return sign * sum((v.finance.lines[k] * discount).sum(axis=(1, 2)) for k in lines)

    value = merged.metrics["npv_usd"] - base.metrics[f"npv_usd[{into}]"]
    members = [c for c in base.finance.companies if c in deal.members and c != into]
    assumed = sum(base.finance.lines["debt_outstanding_usd"][:, base.finance.companies.index(c), 0].mean()
                  for c in members)
    out.append(f"- What the merger is worth to {into}: NPV merged minus its own standalone NPV (unlevered free "
               f"cash flow, no terminal value) {with_ci(value)}, against the price paid of {usd(deal.price_usd)} "
               f"plus {usd(assumed)} of debt assumed ({usd(deal.price_usd + assumed)}): "
               f"{'more' if value.mean() > deal.price_usd + assumed else 'less'} than it pays within the horizon.")
    out.append(_verdict_with_terminal_value(merged, base, into, usd, with_ci))
    if deal.offer is not None:
        out.append(_offer_note(merged, into, with_ci))
    whole = merged.metrics["npv_usd"] - base.metrics["npv_usd"]
    out.append(f"- Paired NPV difference of the whole ({merged.name} - {base.name}, every company): "
               f"{with_ci(whole)}. Hosting fees and fit-out netting are transfers between the two companies and "
               f"cancel; what merging changes is:")
    components = {
        "tenant revenue net of SLA credits (pooling, GPUs in more MW)": (("revenue_reserved_usd", "revenue_on_demand_usd",
                                                         "revenue_spot_usd"), ("sla_credits_usd",)),
        "legacy loads (mining, converted capacity)": (("revenue_legacy_usd", "revenue_converted_usd"),
                                                      ("legacy_energy_usd",)),
        "conversion capex": ((), ("conversion_capex_usd",)),
        "synergies less integration cost": (("synergies_usd",), ("integration_cost_usd",)),
        "energy, site and company opex": ((), ("energy_usd", "site_opex_usd", "opex_usd")),
        "capex (GPUs, fit-out, site expansions)": ((), ("capex_usd", "fitout_capex_usd", "site_capex_usd")),
        "GPUs sold at retirement": (("resale_proceeds_usd",), ()),
        "hosting fees and fit-out netting": (("hosting_fees_received_usd", "fitout_recovered_usd"),
                                             ("hosting_fees_paid_usd", "fitout_netted_usd")),
        "prepayment timing": (("prepayments_received_usd",), ("prepayments_applied_usd",)),
    }
    rows = []
    for label, (plus, minus) in components.items():
        delta = (pv(merged, plus) - pv(merged, minus)) - (pv(base, plus) - pv(base, minus)) \
            if plus or minus else np.zeros(1)
        if abs(float(np.mean(delta))) >= 1e6:
            rows.append(f"{label} {usd(np.mean(delta))}")
    out[-1] += " " + "; ".join(rows) + "." if rows else " nothing measurable."
    loads = sum(load.mw for site in merged.scenario.sites for load in site.legacy_loads)
    if deal.convert_legacy_loads is not None and loads:
        conv = deal.convert_legacy_loads
        use = (f"fills the {loads / conv.pue_after:g} MW of critical IT they make with its own GPUs"
               if conv.use == "gpus" else
               f"leases the {loads / conv.pue_after:g} MW of critical IT they make at "
               f"{usd(conv.lease_usd_per_kw_month)} per kW-month after {conv.lease_up_months} months")
        out.append(f"- The merged company converts {loads:g} MW of legacy load from {conv.start:%Y-%m} over "
                   f"{conv.months} months at {usd(conv.capex_usd_per_mw)} per MW and {use}.")
    return out


def _verdict_with_terminal_value(merged, base, into: str, usd, with_ci) -> str:
    """The deal's NPV with terminal values decides the verdict; without them it is the horizon's."""
    m = merged.metrics
    tv = {c.name: c.terminal_value for c in merged.scenario.companies}
    if tv.get(into) is None:
        return (f"- No terminal value is configured for {into} (`terminal_value`), so the verdict above stops "
                f"at the horizon: what the sites and contracts are worth after it counts as nothing.")
    t = tv[into]
    method = (f"{t.ebitda_multiple:g} x trailing EBITDA" if t.method == "exit_multiple"
              else f"Gordon growth at {t.growth:.1%}" if t.method == "gordon" else f"{usd(t.usd_per_mw)} per MW owned")
    with_tv, without = m["deal_npv_with_terminal_usd"], m["deal_npv_usd"]
    irr = m["deal_irr"]
    payback = m["deal_payback_years"]
    irr_text = (f"IRR {np.nanmean(irr):.1%} a year" if np.isfinite(irr).any()
                else "no IRR (its flows never change sign)")
    paid_back = (f"its cash paid back after {np.nanmean(payback):.1f} years" if np.isfinite(payback).all()
                 else f"its cash not paid back within the horizon in {int(np.isnan(payback).sum())} of "
                      f"{payback.size} replicas")
    verdict = "pays" if np.mean(with_tv) > 0 else "does not pay"
    return (f"- With terminal values at the horizon ({into}: {method}), the deal's NPV to {into} less the price "
            f"and debt assumed is {with_ci(with_tv)} (without them {with_ci(without)}); {irr_text}, {paid_back}. "
            f"**The deal {verdict}** on the NPV with terminal value, which decides the verdict (the NPV "
            f"without it counts what the assets are worth after the horizon as nothing).")


def _offer_note(merged, into: str, with_ci) -> str:
    """Per share of each holder group: the offer at close against standalone value."""
    offer, m = merged.scenario.merger.offer, merged.metrics
    per_share = lambda name: with_ci(m[name], floor=interval_bounds(name)[0]).replace("USD ", "$")
    accept = m["target_better_off_accepting"]
    lo, hi = _wilson(accept)
    collar = (f"a collar from ${offer.collar.min_price_usd:g} to ${offer.collar.max_price_usd:g}" if offer.collar
              else "no collar")
    return (f"- The offer: {offer.exchange_ratio:g} {into} shares per {offer.target} share ({collar}"
            f"{f', ${offer.cash_per_share_usd:g} cash' if offer.cash_per_share_usd else ''}), {into}'s price at "
            f"close drawn lognormal ({offer.buyer_price_volatility:.0%} a year from ${offer.buyer_share_price_usd:g} "
            f"at signing, {offer.signing} to {offer.close}). A {offer.target} share gets "
            f"{per_share('offer_value_per_share_usd')} at close against a standalone value of "
            f"{per_share('target_standalone_value_per_share_usd')} (NPV with terminal value less debt, per share): "
            f"**{offer.target}'s holders are better off accepting in {int(accept.sum())} of {accept.size} replicas** "
            f"(probability 95% interval {lo:.0%} to {hi:.0%}, Wilson). {into}'s value per share "
            f"{per_share('buyer_standalone_value_per_share_usd')} standalone, "
            f"{per_share('buyer_value_per_share_after_usd')} after (accretion {_percent_ci(m['buyer_accretion'])}); both count only what the model holds of {into} (its fleet here), "
            f"not the whole company the market prices.")


def _wilson(values: np.ndarray) -> tuple[float, float]:
    lo, hi = proportion_ci95(np.asarray([np.nansum(values)]), int(np.isfinite(values).sum()))
    return float(lo[0]), float(hi[0])


def _percent_ci(samples) -> str:
    mean, lo, hi = mean_ci95(np.asarray(samples, dtype=np.float64))
    return f"{mean:.1%}" + (f" [{lo:.1%}, {hi:.1%}]" if np.isfinite(lo) else "")


def _lender_view(v, name: str, usd) -> str:
    """A company's breach and default probabilities across replicas (Wilson intervals), its
    lenders' expected loss, and what the borrowing base and sweeps took."""
    m = v.metrics
    parts = []
    for metric, what in (("breach_probability", "a covenant breach"), ("default_probability", "a default")):
        hits = m[f"{metric}[{name}]"]
        lo, hi = _wilson(hits)
        parts.append(f"{what} in {int(np.nansum(hits))} of {hits.size} replicas ({lo:.0%} to {hi:.0%})")
    parts.append(f"expected loss to lenders {usd(np.mean(m[f'default_loss_usd[{name}]']))}")
    for metric, what in (("forced_paydown_usd", "paid down to the borrowing base"),
                         ("cash_swept_usd", "cash swept in breach")):
        if np.mean(m[f"{metric}[{name}]"]) > 0:
            parts.append(f"{what} {usd(np.mean(m[f'{metric}[{name}]']))}")
    return "; ".join(parts)
