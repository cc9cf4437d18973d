// The fuzzer's input as a stream of small numbers; reads past the end give 0,
// so every input decodes to some sequence of operations.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bpfemu::fuzz {

class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool done() const { return pos_ >= size_; }
  uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace bpfemu::fuzz
