"""PopulationSpec is the data, the numerics' own InitConfig and TrainConfig, and a set of measurements."""

from __future__ import annotations

import pickle

import pytest

from numerics.model import InitConfig
from numerics.train import TrainConfig
from theory.parameters import ParameterError
from verify.experiments import Request
from verify.experiments.population import PopulationSpec


def test_flat_settings_are_routed_to_the_configs_by_name():
    spec = PopulationSpec.of(runs=5, d=10, ell=4, n=8, m=16, beta=0.5, lr=0.3, steps=7, optimizer="sgd")
    assert spec.init == InitConfig(m=16, beta=0.5)
    assert spec.train == TrainConfig(lr=0.3, steps=7, optimizer="sgd")
    assert (spec.m, spec.beta, spec.lr, spec.steps) == (16, 0.5, 0.3, 7)  # read through to the configs
    assert spec.with_settings(lr=0.1, d=12).train.lr == 0.1 and spec.with_settings(d=12).d == 12


def test_one_set_of_defaults_the_numerics():
    spec = PopulationSpec(runs=1)
    assert spec.init == InitConfig() and spec.train == TrainConfig()


def test_measurements_are_a_set_and_the_spec_is_a_stable_key():
    a = PopulationSpec.of(runs=3, d=6, ell=3, measure=("weights", "gradient"))
    b = PopulationSpec.of(runs=3, d=6, ell=3, measure=("gradient", "weights"))
    assert a == b and hash(a) == hash(b) and a.measure == frozenset({"gradient", "weights"})
    assert pickle.loads(pickle.dumps(a)) == a  # it travels to worker processes
    assert Request("population", a, ("x",)).key(0, "cpu") == Request("population", b, ("x",)).key(0, "cpu")


def test_a_bad_setting_is_the_configs_own_error():
    with pytest.raises(ParameterError, match="lr=-1"):
        PopulationSpec.of(runs=1, lr=-1)
    with pytest.raises(ValueError, match="'exact' needs 'attacks'"):
        PopulationSpec.of(runs=1, measure=("gradient", "exact"))
