"""Stress scenarios for ``SingleProduct-v0``: demand shocks, drift, seasonality, competitors.

A scenario changes the demand a single-product market faces over the periods of an episode.
Pass a list of them to the market, as objects or as config mappings:

    gymnasium.make(
        "PricingSim/SingleProduct-v0",
        scenarios=[{"kind": "shock", "start": 50, "factor": 0.5, "target": "market_size"}],
    )

Kinds (``make_scenario`` builds them from mappings):

- ``shock``: the market size or the price sensitivity times ``factor`` in periods
  ``[start, start + duration)``, or from ``start`` on.
- ``drift``, ``mode="linear"``: factor ``1 + rate * (t - start)`` from ``start``;
  ``mode="random-walk"``: a bounded geometric random walk drawn at every reset.
- ``seasonality``: the target times ``1 + amplitude * sin(2 pi t / period + phase)``.
- ``competitor``, ``process`` ``"fixed"``, ``"undercut"`` or ``"jumps"``: a competitor's price
  enters the customers' choice as an outside option.

A price-sensitivity factor ``s`` means customers respond to price ``p`` as the base model
responds to ``s p``. ``envs.scenarios.market`` gives the purchase probability with
competitors and the oracles: each period's own optimum for stationary demand, and backward
induction over (period, reference price) for reference-price demand.
"""

from envs.scenarios.kinds import (
    SCENARIO_KINDS,
    TARGETS,
    CompetitorScenario,
    DemandScenario,
    DemandShock,
    FixedCompetitor,
    JumpingCompetitor,
    LinearDrift,
    RandomWalkDrift,
    Scenario,
    Seasonality,
    UndercuttingCompetitor,
    make_scenario,
    make_scenarios,
)
from envs.scenarios.market import (
    LOG_ODDS_LIMIT,
    ScenarioDemand,
    ScenarioMarket,
    ScenarioOracle,
    ScenarioReferenceOracle,
    Schedule,
)

__all__ = [
    "LOG_ODDS_LIMIT",
    "SCENARIO_KINDS",
    "TARGETS",
    "CompetitorScenario",
    "DemandScenario",
    "DemandShock",
    "FixedCompetitor",
    "JumpingCompetitor",
    "LinearDrift",
    "RandomWalkDrift",
    "Scenario",
    "ScenarioDemand",
    "ScenarioMarket",
    "ScenarioOracle",
    "ScenarioReferenceOracle",
    "Schedule",
    "Seasonality",
    "UndercuttingCompetitor",
    "make_scenario",
    "make_scenarios",
]
