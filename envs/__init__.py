"""Customers and markets: Gymnasium pricing environments registered under ``PricingSim/``.

Importing this package registers every market. Entry points are strings, so a market's
module is imported only when that market is made.
"""

from gymnasium.envs.registration import register, registry


def _register(env_id: str, entry_point: str, **kwargs) -> None:
    # Re-importing the package (for example in a worker process) must not re-register.
    if env_id not in registry:
        register(id=env_id, entry_point=entry_point, **kwargs)


_register(
    "PricingSim/SingleProduct-v0",
    entry_point="envs.single_product:SingleProductEnv",
    vector_entry_point="envs.vector:SingleProductVectorEnv",
)
_register("PricingSim/Inventory-v0", entry_point="envs.inventory:InventoryEnv")
_register("PricingSim/Calibrated-v0", entry_point="envs.calibrated:CalibratedEnv")

ENV_IDS = (
    "PricingSim/SingleProduct-v0",
    "PricingSim/Inventory-v0",
    "PricingSim/Calibrated-v0",
)
