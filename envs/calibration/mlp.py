"""A deep demand model: an MLP scores each (customer, item, price) and a softmax or sigmoid
turns the scores into purchase probabilities.

Inputs per alternative: the item (one-hot), the price relative to the data's mean price and
to the item's base price, promotion indicators, and the user's history features (see
:mod:`envs.calibration.features`): on panels with the user's loyalty to that item, on event
logs with the user's earlier browsing behaviour. All inputs except the
one-hot are standardized by a :class:`FeatureScaler` that is saved beside the model.

* Choice panels: the scores of an occasion's J items go through a softmax; cross-entropy
  of the chosen item.
* Event logs: each exposure's score goes through a sigmoid; binary cross-entropy. When the
  log has quantities, a second head predicts units per exposure with a mean squared error
  loss added to the classification loss.

Training uses Adam on mini-batches and stops early when the validation loss has not improved
for ``patience`` epochs, restoring the best weights.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from envs.calibration.data import CalibrationData, ChoicePanel
from envs.calibration.features import FeatureScaler, add_history, item_features, user_snapshot


class _Network(nn.Module):
    def __init__(self, n_inputs: int, hidden: int, with_quantity: bool):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.score = nn.Linear(hidden, 1)
        self.quantity = nn.Linear(hidden, 1) if with_quantity else None

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        hidden = self.body(inputs)
        quantity = None if self.quantity is None else nn.functional.softplus(self.quantity(hidden)).squeeze(-1)
        return self.score(hidden).squeeze(-1), quantity


class MLPDemandModel:
    """Deep demand model with early stopping; see the module docstring.

    Args:
        hidden: width of the two hidden layers.
        learning_rate: Adam step size.
        batch_size: rows (occasions or exposures) per gradient step.
        max_epochs: upper bound on training epochs.
        patience: epochs without validation improvement before stopping.
        validation_fraction: share of the training rows held out for early stopping.
        seed: seed of weight initialization, shuffling and the validation split.
    """

    model_type = "mlp"

    def __init__(
        self,
        hidden: int = 32,
        learning_rate: float = 3e-3,
        batch_size: int = 512,
        max_epochs: int = 200,
        patience: int = 10,
        validation_fraction: float = 0.2,
        seed: int = 0,
    ):
        if not 0.0 < validation_fraction < 1.0:
            raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction!r}")
        for name, value in (("hidden", hidden), ("batch_size", batch_size), ("max_epochs", max_epochs), ("patience", patience)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.hidden = hidden
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.seed = seed

        self.kind = ""
        self.items: tuple[str, ...] = ()
        self.promotion_names: tuple[str, ...] = ()
        self.user_ids = np.empty(0)
        self.price_scale = 1.0
        self.base_prices = np.empty(0)
        self.user_history = np.empty((0, 0))
        self.user_loyalty: np.ndarray | None = None
        self.scaler: FeatureScaler | None = None
        self.network: _Network | None = None
        self.with_quantity = False
        self.train_losses: list[float] = []
        self.validation_losses: list[float] = []
        self.best_epoch = -1
        self.stopped_early = False

    # ---------------------------------------------------------------- inputs

    def _raw_inputs(
        self,
        item: np.ndarray,
        price: np.ndarray,
        promotions: np.ndarray,
        history: np.ndarray,
        loyalty: np.ndarray | None,
    ) -> np.ndarray:
        """Return unscaled inputs, one row per alternative; the first J columns are one-hot items."""
        onehot = np.zeros((item.shape[0], len(self.items)))
        onehot[np.arange(item.shape[0]), item] = 1.0
        columns = [onehot, (price / self.price_scale)[:, None], (price / self.base_prices[item])[:, None], promotions, history]
        if loyalty is not None:
            columns.append(loyalty[:, None])
        return np.column_stack(columns)

    def _scaled(self, raw: np.ndarray) -> torch.Tensor:
        j = len(self.items)
        scaled = np.concatenate([raw[:, :j], self.scaler.transform(raw[:, j:])], axis=1)
        return torch.as_tensor(scaled, dtype=torch.float32)

    def _data_inputs(self, data: CalibrationData) -> np.ndarray:
        if data.history is None:
            add_history(data)
        if isinstance(data, ChoicePanel):
            n, j = data.n_rows, data.n_items
            return self._raw_inputs(
                np.tile(np.arange(j), n),
                data.prices.reshape(-1),
                data.promotions.reshape(n * j, -1),
                np.repeat(data.history, j, axis=0),
                data.loyalty.reshape(-1),
            )
        return self._raw_inputs(data.item, data.price, data.promotions, data.history, None)

    # --------------------------------------------------------------- fitting

    def fit(self, data: CalibrationData) -> MLPDemandModel:
        """Train on ``data`` with early stopping on a validation split of its rows."""
        self.kind = data.kind
        self.items = data.items
        self.promotion_names = data.promotion_names
        self.user_ids = data.user_ids
        self.price_scale = float(np.mean(data.prices if isinstance(data, ChoicePanel) else data.price))
        base = item_features(data)["base_price"].to_numpy()
        self.base_prices = np.where(np.isfinite(base), base, self.price_scale)
        self.user_history, self.user_loyalty = user_snapshot(data)
        self.with_quantity = not isinstance(data, ChoicePanel) and data.quantity is not None

        raw = self._data_inputs(data)
        self.scaler = FeatureScaler.fit(raw[:, len(self.items):])
        inputs = self._scaled(raw)
        targets = self._targets(data)

        rng = np.random.default_rng(self.seed)
        order = rng.permutation(data.n_rows)
        n_validation = max(1, int(round(self.validation_fraction * data.n_rows)))
        validation_rows, train_rows = order[:n_validation], order[n_validation:]

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            self.network = _Network(inputs.shape[1], self.hidden, self.with_quantity)
        optimizer = torch.optim.Adam(self.network.parameters(), lr=self.learning_rate)

        best_loss, best_state, waited = float("inf"), None, 0
        self.train_losses, self.validation_losses = [], []
        for epoch in range(self.max_epochs):
            self.network.train()
            shuffled = rng.permutation(train_rows)
            epoch_loss = 0.0
            for start in range(0, shuffled.size, self.batch_size):
                batch = shuffled[start:start + self.batch_size]
                loss = self._loss(inputs, targets, batch)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                epoch_loss += float(loss.detach()) * batch.size
            self.train_losses.append(epoch_loss / max(train_rows.size, 1))

            self.network.eval()
            with torch.no_grad():
                validation_loss = float(self._loss(inputs, targets, validation_rows))
            self.validation_losses.append(validation_loss)
            if validation_loss < best_loss - 1e-6:
                best_loss, best_state, waited, self.best_epoch = validation_loss, copy.deepcopy(self.network.state_dict()), 0, epoch
            else:
                waited += 1
                if waited >= self.patience:
                    self.stopped_early = True
                    break
        self.network.load_state_dict(best_state)
        self.network.eval()
        return self

    def _targets(self, data: CalibrationData) -> dict[str, torch.Tensor]:
        if isinstance(data, ChoicePanel):
            return {"choice": torch.tensor(data.choices, dtype=torch.long)}
        targets = {"purchased": torch.tensor(data.purchased, dtype=torch.float32)}
        if self.with_quantity:
            targets["quantity"] = torch.tensor(data.quantity, dtype=torch.float32)
        return targets

    def _loss(self, inputs: torch.Tensor, targets: dict[str, torch.Tensor], rows: np.ndarray) -> torch.Tensor:
        index = torch.as_tensor(rows, dtype=torch.long)
        if self.kind == "choices":
            j = len(self.items)
            alternative_rows = (index[:, None] * j + torch.arange(j)[None, :]).reshape(-1)
            scores, _ = self.network(inputs[alternative_rows])
            return nn.functional.cross_entropy(scores.reshape(-1, j), targets["choice"][index])
        scores, quantity = self.network(inputs[index])
        loss = nn.functional.binary_cross_entropy_with_logits(scores, targets["purchased"][index])
        if quantity is not None:
            loss = loss + nn.functional.mse_loss(quantity, targets["quantity"][index])
        return loss

    # ------------------------------------------------------------ prediction

    def _scores(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        with torch.no_grad():
            scores, quantity = self.network(self._scaled(raw))
        return scores.numpy().astype(float), None if quantity is None else quantity.numpy().astype(float)

    def predict(self, data: CalibrationData) -> np.ndarray:
        """Return ``(n, J)`` choice probabilities (panels) or ``(n,)`` purchase probabilities (events)."""
        scores, _ = self._scores(self._data_inputs(data))
        if isinstance(data, ChoicePanel):
            return _softmax(scores.reshape(data.n_rows, data.n_items))
        return 1.0 / (1.0 + np.exp(-scores))

    def predict_quantity(self, data: CalibrationData) -> np.ndarray:
        """Return the expected units per exposure from the regression head (event logs with quantities)."""
        if not self.with_quantity:
            raise ValueError("this model has no quantity head: the training log had no quantity column")
        _, quantity = self._scores(self._data_inputs(data))
        return quantity

    def choice_probabilities(
        self, prices: np.ndarray, promotions: np.ndarray | None = None, users: np.ndarray | None = None
    ) -> np.ndarray:
        """Return ``(K, J)`` purchase probabilities for rows of prices, using each user's latest history."""
        prices = np.asarray(prices, dtype=float)
        k, j = prices.shape
        if promotions is None:
            promotions = np.zeros((k, j, len(self.promotion_names)))
        users = np.full(k, -1) if users is None else np.asarray(users, dtype=np.int64)
        known = users >= 0
        safe = np.where(known, users, 0)
        history = np.where(known[:, None], self.user_history[safe], self.user_history.mean(axis=0))
        loyalty = None
        if self.kind == "choices":
            loyalty = np.where(known[:, None], self.user_loyalty[safe], 1.0 / j).reshape(-1)
        raw = self._raw_inputs(
            np.tile(np.arange(j), k),
            prices.reshape(-1),
            np.asarray(promotions, dtype=float).reshape(k * j, -1),
            np.repeat(history, j, axis=0),
            loyalty,
        )
        scores, _ = self._scores(raw)
        scores = scores.reshape(k, j)
        if self.kind == "choices":
            return _softmax(scores)
        return 1.0 / (1.0 + np.exp(-scores))

    # ----------------------------------------------------------- persistence

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        meta = {
            "model_type": self.model_type,
            "kind": self.kind,
            "items": list(self.items),
            "promotion_names": list(self.promotion_names),
            "price_scale": self.price_scale,
            "hidden": self.hidden,
            "with_quantity": self.with_quantity,
            "n_inputs": int(self.network.body[0].in_features),
            "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early,
            "hyperparameters": {
                "learning_rate": self.learning_rate,
                "batch_size": self.batch_size,
                "max_epochs": self.max_epochs,
                "patience": self.patience,
                "validation_fraction": self.validation_fraction,
                "seed": self.seed,
            },
        }
        arrays = {f"weights/{name}": tensor.numpy() for name, tensor in self.network.state_dict().items()}
        arrays.update(
            base_prices=self.base_prices,
            user_history=self.user_history,
            user_ids=np.asarray(self.user_ids).astype(str),
        )
        if self.user_loyalty is not None:
            arrays["user_loyalty"] = self.user_loyalty
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray], scaler: FeatureScaler) -> MLPDemandModel:
        model = cls(hidden=int(meta["hidden"]), **meta["hyperparameters"])
        model.kind = meta["kind"]
        model.items = tuple(meta["items"])
        model.promotion_names = tuple(meta["promotion_names"])
        model.price_scale = float(meta["price_scale"])
        model.with_quantity = bool(meta["with_quantity"])
        model.best_epoch = int(meta["best_epoch"])
        model.stopped_early = bool(meta["stopped_early"])
        model.base_prices = arrays["base_prices"]
        model.user_history = arrays["user_history"]
        model.user_loyalty = arrays.get("user_loyalty")
        model.user_ids = arrays["user_ids"]
        model.scaler = scaler
        model.network = _Network(int(meta["n_inputs"]), model.hidden, model.with_quantity)
        state = {name[len("weights/"):]: torch.as_tensor(value) for name, value in arrays.items() if name.startswith("weights/")}
        model.network.load_state_dict(state)
        model.network.eval()
        return model


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)
