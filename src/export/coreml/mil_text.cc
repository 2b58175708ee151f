#include "export/coreml/mil_text.h"

#include <cstdio>
#include <map>

#include "export/coreml/mil_const.h"

namespace taec::coreml {
namespace {

std::string number_text(mil::DataType dtype, double v) {
  char buf[64];
  if (dtype == mil::FLOAT16 || dtype == mil::FLOAT32 || dtype == mil::FLOAT64) {
    std::snprintf(buf, sizeof buf, "%a", v);
  } else {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
  }
  return buf;
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return out + "\"";
}

std::string value_text(const mil::Value& value) {
  const std::string type = type_text(value.type());
  if (value.has_blobfilevalue()) {
    return type + "(BLOBFILE(path = string(" + quoted(value.blobfilevalue().filename()) + "), offset = uint64(" +
           std::to_string(value.blobfilevalue().offset()) + ")))";
  }
  auto data = decode_const(value, nullptr, true);
  if (!data.ok()) return type + "(<" + data.status().message() + ">)";
  std::vector<std::string> items;
  for (double v : data->numbers) items.push_back(number_text(data->dtype, v));
  for (bool b : data->bools) items.push_back(b ? "true" : "false");
  for (const auto& s : data->strings) items.push_back(quoted(s));
  if (data->dims.empty() && items.size() == 1) return type + "(" + items[0] + ")";
  std::string list;
  for (size_t i = 0; i < items.size(); ++i) list += (i ? ", " : "") + items[i];
  return type + "([" + list + "])";
}

void print_function(std::string& out, const std::string& name, const mil::Function& f) {
  out += "    func " + name + "<ios18>(";
  for (int i = 0; i < f.inputs_size(); ++i) {
    out += (i ? ", " : "") + type_text(f.inputs(i).type()) + " " + f.inputs(i).name();
  }
  out += ") {\n";
  if (f.block_specializations_size() != 1) {
    out += "        // " + std::to_string(f.block_specializations_size()) + " block specializations\n";
  }
  for (const auto& [opset, block] : f.block_specializations()) {
    for (const auto& op : block.operations()) {
      out += "        ";
      for (int i = 0; i < op.outputs_size(); ++i) {
        out += (i ? ", " : "") + type_text(op.outputs(i).type()) + " " + op.outputs(i).name();
      }
      out += " = " + op.type() + "(";
      const std::map<std::string, mil::Argument> sorted(op.inputs().begin(), op.inputs().end());
      bool first = true;
      for (const auto& [param, argument] : sorted) {
        out += (first ? "" : ", ") + param + " = ";
        first = false;
        if (argument.arguments_size() > 1) out += "(";  // a variadic input (concat's values) is a tuple
        for (int i = 0; i < argument.arguments_size(); ++i) {
          const auto& b = argument.arguments(i);
          out += (i ? ", " : "") + (b.has_name() ? b.name() : value_text(b.value()));
        }
        if (argument.arguments_size() > 1) out += ")";
      }
      out += ")[";
      const std::map<std::string, mil::Value> attributes(op.attributes().begin(), op.attributes().end());
      first = true;
      for (const auto& [key, value] : attributes) {
        out += (first ? "" : ", ") + key + " = " + value_text(value);
        first = false;
      }
      out += "];\n";
    }
    out += "    } -> (";
    for (int i = 0; i < block.outputs_size(); ++i) out += (i ? ", " : "") + block.outputs(i);
    out += ");\n";
  }
}

}  // namespace

std::string mil_text(const ::CoreML::Specification::Model& model) {
  std::string out = "program(1.3)\n";
  const auto& d = model.description();
  out += "// specificationVersion " + std::to_string(model.specificationversion());
  if (!d.defaultfunctionname().empty()) out += ", defaultFunctionName " + d.defaultfunctionname();
  out += "\n{\n";
  const std::map<std::string, mil::Function> functions(model.mlprogram().functions().begin(),
                                                       model.mlprogram().functions().end());
  for (const auto& [name, function] : functions) print_function(out, name, function);
  out += "}\n";
  return out;
}

}  // namespace taec::coreml
