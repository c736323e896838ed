"""The reference case against what the cloud reports (reference-case §3.2): crwv's revenue
per MW of critical IT in GPUs (revenue net of SLA credits over the node max power of its GPUs
in service) and its EBITDA margin, by year of the horizon, in each variant (replica means).
Reported: about $7.4M per MW-year and a ~62% adjusted EBITDA margin (FY2025).

    python bench/calibration.py [--replicas 2]
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sim import api  # noqa: E402

REVENUE = ("revenue_reserved_usd", "revenue_on_demand_usd", "revenue_spot_usd")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--config", default=os.path.join("configs", "merged.yaml"))
    args = parser.parse_args()
    exp = api.run(args.config, replicas=args.replicas)
    for v in exp.variants:
        lines, c = v.finance.lines, v.finance.companies.index("crwv")
        months = v.account.month_starts
        years = len(months) // 12
        per_year = lambda x: x.mean(axis=0)[:years * 12].reshape(years, 12).sum(axis=1)
        revenue = sum(lines[k][:, c] for k in REVENUE) - lines["sla_credits_usd"][:, c]
        mw = np.mean([[sum(d.nodes * s.node_type(d.node_type).node_max_w for d in s.deployments
                           if s.in_service(d, m) and s.deployment_owner(d) == "crwv") / 1e6 for m in months]
                      for s in v.scenarios], axis=0)[:years * 12].reshape(years, 12).mean(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_mw = per_year(revenue) / mw / 1e6
            margin = per_year(lines["ebitda_usd"][:, c]) / per_year(revenue + lines["hosting_fees_received_usd"][:, c])
        first = months[0].year
        print(f"{v.name}: year " + " ".join(f"{first + k:>6}" for k in range(years)))
        print(f"{v.name}: revenue_per_mw_musd " + " ".join(f"{x:6.2f}" for x in per_mw))
        print(f"{v.name}: ebitda_margin " + " ".join(f"{x:6.2f}" for x in margin))
    print("reported: revenue_per_mw_musd ~7.4, ebitda_margin ~0.62 (FY2025)")


if __name__ == "__main__":
    main()
