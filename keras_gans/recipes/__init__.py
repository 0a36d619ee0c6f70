"""The shipped recipes: one YAML per method and dataset (`<method>_<data>.yaml`), inside the
package so that any install has them. Each states only where it departs from the method's
declared defaults, and why."""

import importlib.resources

# Data whose recipe, unless the method has one of its own, is named after another dataset: both
# digit pairs translate like digits.
ALIASES = {"digits2digits-m": "digits", "mnist2svhn": "digits"}


def _files():
    return importlib.resources.files(__name__)


def names():
    """Every shipped recipe's name (`dcgan_mnist`, ...)."""
    return sorted(entry.name.removesuffix(".yaml") for entry in _files().iterdir() if entry.name.endswith(".yaml"))


def named(name):
    """The shipped recipe called `name`, or None."""
    entry = _files() / f"{name.removesuffix('.yaml')}.yaml"
    return entry if entry.is_file() else None


def find(method, data):
    """The shipped recipe for a method and dataset, or None."""
    name = data.split(":", 1)[-1].replace("/", "_").replace(",", "_")
    return named(f"{method}_{name}") or named(f"{method}_{ALIASES.get(name, name)}")
