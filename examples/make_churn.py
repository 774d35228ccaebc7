#!/usr/bin/env python3
"""Make the bundled example: a customer-churn table with a known truth.

usage: python examples/make_churn.py [OUT.csv] [--rows N] [--seed S]

Truth (what Greta should confirm, and nothing else):
    P(churned = "yes") = sigmoid(-0.9 - 0.35*tenure_years + 0.40*support_calls
                                 + 1.0*[contract = "monthly"] - 0.6*[contract = "two_year"]
                                 + 0.012*(monthly_fee - 60)*(support_calls - 1.5))
so tenure_years, support_calls, contract and the interaction monthly_fee*support_calls drive
churn. region, age, has_partner, paperless_billing and satisfaction_survey are noise;
customer_id is an identifier (Greta drops it). About 3% of monthly_fee is missing.
Segments that follow from it: churn is highest for customers on monthly contracts with short
tenure (low tenure_years) and many support calls (a higher monthly_fee adds to it when calls
are many), and lowest for long tenure with few calls; a segment naming a noise column is wrong.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd


def make_churn(rows: int = 6000, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tenure = np.round(rng.exponential(3.0, rows).clip(0.1, 12), 2)
    calls = rng.poisson(1.5, rows)
    contract = rng.choice(["monthly", "one_year", "two_year"], rows, p=[0.5, 0.3, 0.2])
    fee = np.round(rng.normal(60, 18, rows).clip(15, 130), 2)
    eta = (-0.9 - 0.35 * tenure + 0.40 * calls + 1.0 * (contract == "monthly")
           - 0.6 * (contract == "two_year") + 0.012 * (fee - 60) * (calls - 1.5))
    churned = np.where(rng.random(rows) < 1 / (1 + np.exp(-eta)), "yes", "no")
    df = pd.DataFrame({
        "customer_id": [f"C{i:06d}" for i in rng.permutation(rows)],
        "tenure_years": tenure,
        "monthly_fee": fee,
        "support_calls": calls,
        "contract": contract,
        "region": rng.choice(["north", "south", "east", "west"], rows),
        "age": rng.integers(18, 80, rows),
        "has_partner": rng.choice(["yes", "no"], rows),
        "paperless_billing": rng.choice(["true", "false"], rows),
        "satisfaction_survey": np.round(rng.normal(7, 1.5, rows).clip(0, 10), 1),
        "churned": churned,
    })
    df.loc[rng.random(rows) < 0.03, "monthly_fee"] = np.nan
    return df


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", nargs="?", default="examples/churn.csv")
    ap.add_argument("--rows", type=int, default=6000)
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args()
    make_churn(a.rows, a.seed).to_csv(a.out, index=False)
    print(f"wrote {a.out} ({a.rows} rows)")


if __name__ == "__main__":
    main()
