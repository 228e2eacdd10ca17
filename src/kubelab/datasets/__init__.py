"""Datasets: built-in turbofan (synthetic C-MAPSS FD001) and diabetes, CSV files, real C-MAPSS files."""

from kubelab.datasets._dataset import BUILTINS, Dataset, DatasetSpec
from kubelab.datasets._turbofan import generate as generate_turbofan
from kubelab.datasets._turbofan import read_cmapss, write_cmapss

__all__ = ["BUILTINS", "Dataset", "DatasetSpec", "generate_turbofan", "read_cmapss", "write_cmapss"]
