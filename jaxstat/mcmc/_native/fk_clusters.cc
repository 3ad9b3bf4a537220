// Union-find labelling of Fortuin-Kasteleyn clusters on periodic lattices,
// as XLA FFI handlers for the CPU (jaxstat/_native.py compiles and registers
// them; jaxstat/mcmc/_lattice.py calls them). The same roots as FastSV, the
// device labelling used everywhere else: every node points at the smallest
// index of its component, so a chain is bit-identical on either path.
//
// Why a custom call: FastSV is ~8 rounds of three XLA passes each, ~110 us at
// L = 64 on a 2-core CPU; a union-find is one pass (~25 us) but sequential,
// which XLA cannot express. Why this union-find (measured, L = 64 at T_c):
// the random bonds make every data-dependent branch a coin toss, and
// mispredictions, not memory, set the cost (a plain raster union-find took
// 45-60 us). So runs along the last axis are found without branches, the
// bonds between runs are iterated as set bits of a word, a bond is skipped
// when the one beside it already joins the same two runs, and roots are
// linked smaller-under-larger so that every pointer stays <= its node and
// one ascending pass resolves all of them.
//
// Layouts (C order): bonds (d, B, n_1, ..., n_d) bool, bonds[k, b][x] joins x
// and x + e_k (wrapping; an open boundary's bonds are never active); ghost
// (B, N) bool, the bonds of each site to its lattice's ghost node N; roots
// (B, N + 1) int32 in each lattice's own numbering. JaxstatFkFlip also takes
// coins (B, W) uint32, one bit per node (bit r % 32 of word r / 32), and
// returns which sites flip (the coin of their root; never the ghost's
// cluster) and the number of clusters of sites per lattice.

#include <cstdint>
#include <vector>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

constexpr int64_t kMaxDims = 8;

inline int32_t FindRoot(int32_t* p, int32_t x) {
  while (p[x] != x) {  // path halving
    p[x] = p[p[x]];
    x = p[x];
  }
  return x;
}

inline void Link(int32_t* p, int32_t a, int32_t b) {
  a = FindRoot(p, a);
  b = FindRoot(p, b);
  p[a < b ? b : a] = a < b ? a : b;  // the larger root under the smaller
}

// Labels one lattice. p has N + 1 entries (the ghost is node N); rs and need
// are scratch of N and n_d entries.
void LabelLattice(const uint8_t* bonds, int64_t bond_stride, const uint8_t* ghost, int64_t d,
                  const int64_t* dims, int32_t* p, int32_t* rs, uint8_t* need) {
  int64_t strides[kMaxDims];
  int64_t n = 1;
  for (int64_t k = d - 1; k >= 0; --k) {
    strides[k] = n;
    n *= dims[k];
  }
  const int64_t C = dims[d - 1];
  const uint8_t* H = bonds + (d - 1) * bond_stride;  // bonds along the last axis
  // 1. Runs along the last axis, branch-free: rs[x] is the first site of x's
  //    run. Only run starts (and the ghost) ever become roots.
  for (int64_t r0 = 0; r0 < n; r0 += C) {
    int32_t s = static_cast<int32_t>(r0);
    rs[r0] = s;
    p[r0] = s;
    for (int64_t j = 1; j < C; ++j) {
      const int32_t u = static_cast<int32_t>(r0 + j);
      const int32_t keep = -static_cast<int32_t>(H[r0 + j - 1] & 1);
      s = (s & keep) | (u & ~keep);
      rs[r0 + j] = s;
      p[r0 + j] = u;
    }
  }
  p[n] = static_cast<int32_t>(n);
  // 2. The other axes, row against neighbouring row.
  for (int64_t k = 0; k + 1 < d; ++k) {
    const uint8_t* V = bonds + k * bond_stride;
    const int64_t st = strides[k], span = dims[k] * st;
    for (int64_t o = 0; o < n; o += span) {
      for (int64_t x = 0; x < span; x += C) {
        const int64_t r0 = o + x;
        const int64_t r1 = x + st < span ? r0 + st : r0 + st - span;
        need[0] = V[r0] & 1;
        for (int64_t j = 1; j < C; ++j)
          need[j] = V[r0 + j] & ~(V[r0 + j - 1] & H[r0 + j - 1] & H[r1 + j - 1]) & 1;
        for (int64_t j0 = 0; j0 < C; j0 += 64) {
          const int64_t m = C - j0 < 64 ? C - j0 : 64;
          uint64_t w = 0;
          for (int64_t t = 0; t < m; ++t) w |= static_cast<uint64_t>(need[j0 + t]) << t;
          while (w) {
            const int64_t j = j0 + __builtin_ctzll(w);
            w &= w - 1;
            Link(p, rs[r0 + j], rs[r1 + j]);
          }
        }
      }
    }
  }
  // 3. The wrap of the last axis, and the ghost bonds.
  if (C > 1)
    for (int64_t r0 = 0; r0 < n; r0 += C)
      if (H[r0 + C - 1] & 1) Link(p, rs[r0 + C - 1], rs[r0]);
  if (ghost != nullptr)
    for (int64_t x = 0; x < n; ++x)
      if (ghost[x] & 1) Link(p, rs[x], static_cast<int32_t>(n));
  // 4. Every pointer is <= its node: one ascending pass resolves them all (a
  //    site reads its run's start, already resolved).
  for (int64_t u = 0; u < n; ++u) p[u] = p[p[rs[u]]];
  p[n] = p[p[n]];
}

struct Shape {
  int64_t d, batch, n;
  const int64_t* dims;
};

ffi::Error BondShape(const ffi::AnyBuffer& bonds, const ffi::AnyBuffer& ghost, Shape* shape) {
  auto dims = bonds.dimensions();
  if (dims.size() < 3 || dims[0] != static_cast<int64_t>(dims.size()) - 2 || dims[0] > kMaxDims)
    return ffi::Error::InvalidArgument("bonds must be (d, B, n_1, ..., n_d) with 1 <= d <= 8");
  Shape& s = *shape;
  s = Shape{dims[0], dims[1], 1, dims.begin() + 2};
  for (int64_t k = 0; k < s.d; ++k) s.n *= s.dims[k];
  if (static_cast<int64_t>(ghost.element_count()) != s.batch * s.n)
    return ffi::Error::InvalidArgument("ghost must have B * N entries");
  if (s.n >= (int64_t{1} << 31) - 1) return ffi::Error::InvalidArgument("too many sites for int32 roots");
  return ffi::Error::Success();
}

template <typename Each>
void ForEachLattice(const Shape& s, const uint8_t* bonds, const uint8_t* ghost, int32_t* roots, Each each) {
  std::vector<int32_t> rs(s.n);
  std::vector<uint8_t> need(s.dims[s.d - 1]);
  for (int64_t b = 0; b < s.batch; ++b) {
    int32_t* p = roots + b * (s.n + 1);
    LabelLattice(bonds + b * s.n, s.batch * s.n, ghost + b * s.n, s.d, s.dims, p, rs.data(), need.data());
    each(b, p);
  }
}

ffi::Error Label(ffi::AnyBuffer bonds, ffi::AnyBuffer ghost, ffi::Result<ffi::AnyBuffer> roots) {
  Shape shape;
  if (ffi::Error err = BondShape(bonds, ghost, &shape); err.failure()) return err;
  ForEachLattice(shape, static_cast<const uint8_t*>(bonds.untyped_data()),
                 static_cast<const uint8_t*>(ghost.untyped_data()), static_cast<int32_t*>(roots->untyped_data()),
                 [](int64_t, int32_t*) {});
  return ffi::Error::Success();
}

ffi::Error FkFlip(ffi::AnyBuffer bonds, ffi::AnyBuffer ghost, ffi::AnyBuffer coins, ffi::Result<ffi::AnyBuffer> roots,
                  ffi::Result<ffi::AnyBuffer> flip, ffi::Result<ffi::AnyBuffer> n_clusters) {
  Shape s;
  if (ffi::Error err = BondShape(bonds, ghost, &s); err.failure()) return err;
  const int64_t words = (s.n + 1 + 31) / 32;
  if (static_cast<int64_t>(coins.element_count()) != s.batch * words)
    return ffi::Error::InvalidArgument("coins must be (B, ceil((N + 1) / 32)) words");
  const uint32_t* coin = static_cast<const uint32_t*>(coins.untyped_data());
  uint8_t* out = static_cast<uint8_t*>(flip->untyped_data());
  int32_t* count = static_cast<int32_t*>(n_clusters->untyped_data());
  ForEachLattice(s, static_cast<const uint8_t*>(bonds.untyped_data()), static_cast<const uint8_t*>(ghost.untyped_data()),
                 static_cast<int32_t*>(roots->untyped_data()), [&](int64_t b, const int32_t* p) {
                   const uint32_t* c = coin + b * words;
                   uint8_t* f = out + b * s.n;
                   const int32_t ghost_root = p[s.n];
                   int32_t clusters = 0;
                   for (int64_t x = 0; x < s.n; ++x) {
                     const int32_t r = p[x];
                     f[x] = static_cast<uint8_t>(((c[r >> 5] >> (r & 31)) & 1u) & (r != ghost_root));
                     clusters += r == x;
                   }
                   count[b] = clusters;
                 });
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxstatFkLabel, Label,
                              ffi::Ffi::Bind().Arg<ffi::AnyBuffer>().Arg<ffi::AnyBuffer>().Ret<ffi::AnyBuffer>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxstatFkFlip, FkFlip,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::AnyBuffer>()
                                  .Arg<ffi::AnyBuffer>()
                                  .Arg<ffi::AnyBuffer>()
                                  .Ret<ffi::AnyBuffer>()
                                  .Ret<ffi::AnyBuffer>()
                                  .Ret<ffi::AnyBuffer>());
