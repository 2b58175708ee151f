// The objects the module hands out besides plans, and the registration of each part.
#pragma once

#include <string>

#include <pybind11/pybind11.h>

#include "taec/taec.hpp"

namespace taec_py {

struct PyModel {
  explicit PyModel(taec::Model m) : model(std::move(m)) {}
  taec::Model model;
};

struct PyPackage {
  explicit PyPackage(const std::string& p) : path(p), package(p), model(package.model()) {}
  std::string path;
  taec::Package package;
  taec::Model model;
};

struct PyCalibration {
  explicit PyCalibration(taec::Calibration c) : calibration(std::move(c)) {}
  taec::Calibration calibration;
};

void register_models(pybind11::module_& m);
void register_quality(pybind11::module_& m);

}  // namespace taec_py
