"""The shipped intent model is the one its training messages give: a changed training file without `make
intent-model` (or weights edited by hand) fails here. Trains the whole model, about half a minute; and a model saved
as float16 reads messages as the trained one does. (Training is slow: these run with the integration tests, outside
the quick unit loop.)"""

from __future__ import annotations

from pathlib import Path

from concierge.reasoning import intentmodel
from concierge.reasoning.understanding_eval import SET, TRAINING, load, training_set

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_model_is_what_the_training_messages_give():
    pairs = training_set(ROOT / TRAINING, ROOT / SET)
    retrained = intentmodel.train([t for t, _ in pairs], [i for _, i in pairs])
    shipped = intentmodel.IntentModel.load()
    assert shipped.classes == retrained.classes
    texts = [t for t, _ in pairs] + [m.text for m in load(ROOT / SET)]
    same = sum(shipped.predict(t)[0] == retrained.predict(t)[0] for t in texts)
    # float16 weights may tip a near tie on a rare message; a model trained on other data differs on hundreds
    assert same / len(texts) >= 0.998, f"{len(texts) - same} of {len(texts)} messages read differently"


def test_weights_saved_as_float16_read_messages_as_the_trained_model_does(tmp_path):
    pairs = training_set(ROOT / TRAINING, ROOT / SET)[::10]
    trained = intentmodel.train([t for t, _ in pairs], [i for _, i in pairs])
    trained.save(tmp_path / "model.npz")
    loaded = intentmodel.IntentModel.load(tmp_path / "model.npz")
    texts = [m.text for m in load(ROOT / SET)]
    assert [trained.predict(t)[0] for t in texts] == [loaded.predict(t)[0] for t in texts]
    assert (tmp_path / "model.npz").stat().st_size < 2_000_000
