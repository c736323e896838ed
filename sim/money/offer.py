"""An offer for the target's shares, per share of each holder group (`merger.offer`).

Per replica (the buyer's price at close is drawn from the replica's own stream, so a replica
is one possible market):
- the buyer's price at close: lognormal from the price at signing, volatility sigma a year over
  the years from signing to close, no drift (P = P0 exp(sigma sqrt(T) Z - sigma^2 T / 2), so its
  mean is P0);
- the exchange ratio applied: fixed, or within a collar the one that pays ratio x the nearer
  bound when the price leaves the band;
- the offer's value per target share at close: ratio applied x price + cash per share;
- standalone value per share: (NPV with terminal value - net debt) / shares, from the baseline
  variant's statements (net debt: debt outstanding in the first month; cash is not modelled),
  less the termination fee for the target (it pays it if its holders reject);
- the buyer's value per share after the deal: (the merged company's NPV with terminal value -
  its net debt - cash paid - deal costs) / (buyer shares + shares issued), and its accretion
  (after / standalone - 1);
- whether the target's holders are better off accepting (offer value above standalone value).
"""
from __future__ import annotations

import math

import numpy as np

from ..config.schema import Offer, Scenario
from ..rng import stream
from .valuation import deal_metrics, npv_with_terminal


def buyer_price_at_close(offer: Offer, draws: list[tuple[int, int]]) -> np.ndarray:
    years = (offer.close - offer.signing).days / 365.0
    z = np.array([stream(seed, replica, "offer/buyer_price").standard_normal() for seed, replica in draws])
    sigma = offer.buyer_price_volatility
    return offer.buyer_share_price_usd * np.exp(sigma * math.sqrt(years) * z - sigma ** 2 * years / 2)


def ratio_applied(offer: Offer, price: np.ndarray) -> np.ndarray:
    if offer.collar is None:
        return np.full_like(price, offer.exchange_ratio)
    bounded = np.clip(price, offer.collar.min_price_usd, offer.collar.max_price_usd)
    return offer.exchange_ratio * bounded / price


def _value_and_net_debt(s: Scenario, statements, company: str) -> tuple[np.ndarray, np.ndarray]:
    c = statements.companies.index(company)
    npv = npv_with_terminal(s, statements.companies, statements.lines)[:, c]   # no IRR search needed here
    return npv, statements.lines["debt_outstanding_usd"][:, c, 0]


def offer_metrics(merged_s: Scenario, merged, base_s: Scenario, base, draws) -> dict[str, np.ndarray]:
    """Per-replica offer metrics (see the module), from both variants' statements."""
    offer = merged_s.merger.offer
    into = merged_s.merger.into
    price = buyer_price_at_close(offer, draws)
    ratio = ratio_applied(offer, price)
    offered = ratio * price + offer.cash_per_share_usd
    target_npv, target_debt = _value_and_net_debt(base_s, base, offer.target)
    target_value = (target_npv - target_debt - offer.termination_fee_usd) / offer.target_shares
    buyer_npv, buyer_debt = _value_and_net_debt(base_s, base, into)
    buyer_before = (buyer_npv - buyer_debt) / offer.buyer_shares
    merged_npv, merged_debt = _value_and_net_debt(merged_s, merged, into)
    issued = ratio * offer.target_shares
    buyer_after = (merged_npv - merged_debt - offer.cash_per_share_usd * offer.target_shares
                   - offer.deal_costs_usd) / (offer.buyer_shares + issued)
    with np.errstate(divide="ignore", invalid="ignore"):
        accretion = np.where(buyer_before > 0, buyer_after / buyer_before - 1, np.nan)
    return {"buyer_price_at_close_usd": price, "offer_value_per_share_usd": offered,
            "target_standalone_value_per_share_usd": target_value,
            "buyer_standalone_value_per_share_usd": buyer_before, "buyer_value_per_share_after_usd": buyer_after,
            "buyer_accretion": accretion, "target_better_off_accepting": (offered > target_value).astype(np.float64)}


def merger_metrics(merged_s: Scenario, merged, base_s: Scenario, base, draws) -> dict[str, np.ndarray]:
    """Everything a merger adds to the merged variant's metrics: the buyer's view of the deal
    (`sim.money.valuation.deal_metrics`) and, with an offer, its value per share."""
    out = deal_metrics(merged_s, merged, base_s, base)
    if merged_s.merger.offer is not None:
        out.update(offer_metrics(merged_s, merged, base_s, base, draws))
    return out
