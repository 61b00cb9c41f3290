"""Explicit vector code (LLVM IR emitted through Numba intrinsics) for the SGM sweeps.

Three parts, each bit-identical to the scalar loops it replaces (tests compare them with
NumPy twins): the fused path steps of the row walks (:func:`path_steps_1_s`, ``_2_s``,
``_4_s`` and their ``_nt`` forms; the per-pixel-interval kernel has offset forms at the end
of the module), the selection reductions of one pixel's uint16 cost vector
(:func:`best_index`, :func:`second_best`, :func:`right_winners_update`) and a row prefetch
hint (:func:`prefetch_row`).

:func:`path_steps_4_s` does, for one pixel, ``k`` (1, 2 or 4) SGM path steps in one pass
over the disparities, exactly what the scalar loop of earlier versions of
:mod:`stereo.kernels.sgm_sweep` did (same wrapping 16-bit arithmetic, same signed minima,
same padding lanes), so the results are bit-identical. Why not let LLVM vectorise the
scalar loop: it cannot prove that the ~10 row slices (cost, 2 buffers per path, partial
sum, output) do not overlap, so every pixel ran ~250 scalar instructions of run-time
overlap checks before the vector loop, and at D = 64-96 the vector loop itself only ran
2-3 times (plus an 8-lane tail). The callers guarantee that the slices do not overlap;
the code here uses 32-lane vectors (64 bytes, one AVX-512 register), the last block at
``Dp - 32`` (overlapping the one before when Dp is an odd multiple of 16; a single
16-lane block when Dp = 16), and reduces the path minima once per pixel. Measured (one
thread, Adirondack-Q, D = 80): the two sweeps' path steps from about 1.1 ns per cell
(scalar loops + mirrored copies) to 0.66 ns; the in-register sentinel and the single tail
block took the whole kernel from 1.25 to 1.20 ns per cell (and 1.44 to 1.31 at 640x480
D = 64).

Per path ``p`` with source buffer ``s`` (``Dp + 2`` entries, BIG at 0 and ``nd + 1``),
destination ``t``, previous minimum ``m`` and ``j2 = m + P2``:
``t[j + 1] = min(s[j + 1], min(s[j], s[j + 2]) + P1, j2) - m + c[j]`` for ``j < Dp``, then
``t[nd + 1] = BIG``; ``out[j] = part[j] + sum_p t_p[j + 1]`` (uint16, wrapping); returns
``min_j t_p[j + 1]`` over the computed values.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_I16 = ir.IntType(16)
_I8 = ir.IntType(8)
_I64 = ir.IntType(64)
_BIG = 16383


def _ptr(context, builder, aryty, val):
    return context.make_array(aryty)(context, builder, val).data


def _vload(builder, base, etype, idx, n):
    p = builder.gep(base, [idx], inbounds=True, source_etype=etype)
    vt = ir.VectorType(etype, n)
    p = builder.bitcast(p, vt.as_pointer())
    return builder.load(p, typ=vt, align=1)


def _vstore(builder, val, base, etype, idx, stream=False):
    p = builder.gep(base, [idx], inbounds=True, source_etype=etype)
    p = builder.bitcast(p, val.type.as_pointer())
    st = builder.store(val, p, align=1)
    if stream:
        # non-temporal: written for the other sweep, read back much later (no
        # read-for-ownership of the line, and it does not evict the row buffers)
        st.set_metadata("nontemporal", builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)]))


def _splat(builder, scalar, n):
    vt = ir.VectorType(scalar.type, n)
    v = builder.insert_element(ir.Constant(vt, ir.Undefined), scalar, ir.Constant(_I64, 0))
    return builder.shuffle_vector(v, ir.Constant(vt, ir.Undefined),
                                  ir.Constant(ir.VectorType(ir.IntType(32), n), [0] * n))


def _smin(builder, a, b):
    return builder.select(builder.icmp_signed("<", a, b), a, b)


def _reduce_smin(builder, v):
    n = v.type.count
    mod = builder.module
    fnty = ir.FunctionType(_I16, [v.type])
    fn = cgutils.get_or_insert_function(mod, fnty, f"llvm.vector.reduce.smin.v{n}i16")
    return builder.call(fn, [v])


def _shifted_loads(builder, s, j, n):
    # s[j .. j+n), s[j+1 ..), s[j+2 ..) built from one vector load at j + 1 (the exact
    # extent of the previous pixel's store there) and two scalar loads at its edges, for a
    # source written by the previous step: vector loads that straddle two earlier vector
    # stores cannot be forwarded from the store buffer and wait for the stores to commit
    one = ir.Constant(_I64, 1)
    s1 = _vload(builder, s, _I16, builder.add(j, one), n)
    vt = s1.type
    ld = lambda i: builder.load(builder.gep(s, [i], inbounds=True, source_etype=_I16), typ=_I16)
    lo = builder.insert_element(ir.Constant(vt, ir.Undefined), ld(j), ir.Constant(_I64, 0))
    hi = builder.insert_element(ir.Constant(vt, ir.Undefined),
                                ld(builder.add(j, ir.Constant(_I64, n + 1))), ir.Constant(_I64, 0))
    i32v = ir.VectorType(ir.IntType(32), n)
    s0 = builder.shuffle_vector(lo, s1, ir.Constant(i32v, [0] + [n + i for i in range(n - 1)]))
    s2 = builder.shuffle_vector(s1, hi, ir.Constant(i32v, [i + 1 for i in range(n)]))
    return s0, s1, s2


def _block(builder, n, j, c, part, out, srcs, dsts, q1, ms, js, accs, stream=False, carried=False,
           nd16=None):
    # one block of n lanes at disparity j; returns the updated minima accumulators.
    # carried: path 0's source was written by the previous pixel (see _shifted_loads);
    # nd16: store the BIG sentinel of entry nd + 1 with the vector (lane nd - j) instead
    # of leaving it to the caller (a scalar store inside a vector that the next step
    # loads whole would not be forwarded either); minima and sums use the computed value
    q1v = _splat(builder, q1, n)
    cj = builder.zext(_vload(builder, c, _I8, j, n), ir.VectorType(_I16, n))
    total = None
    new_accs = []
    one = ir.Constant(_I64, 1)
    two = ir.Constant(_I64, 2)
    if nd16 is not None:
        sent = builder.icmp_unsigned("==", _lanes(builder, n, j), _splat(builder, nd16, n))
        bigv = ir.Constant(ir.VectorType(_I16, n), [_BIG] * n)
    for p, (s, t, m, jj, acc) in enumerate(zip(srcs, dsts, ms, js, accs)):
        if carried and p == 0:
            s0, s1, s2 = _shifted_loads(builder, s, j, n)
        else:
            s0 = _vload(builder, s, _I16, j, n)
            s1 = _vload(builder, s, _I16, builder.add(j, one), n)
            s2 = _vload(builder, s, _I16, builder.add(j, two), n)
        x = builder.add(_smin(builder, s0, s2), q1v)
        v = _smin(builder, _smin(builder, s1, x), _splat(builder, jj, n))
        v = builder.add(builder.sub(v, _splat(builder, m, n)), cj)
        _vstore(builder, v if nd16 is None else builder.select(sent, bigv, v), t, _I16,
                builder.add(j, one))
        new_accs.append(_smin(builder, acc, v) if acc is not None else v)
        total = v if total is None else builder.add(total, v)
    if part is not None:
        total = builder.add(_vload(builder, part, _I16, j, n), total)
    _vstore(builder, total, out, _I16, j, stream)
    return new_accs


def _penalties(context, builder, k, mins, mins_v, p2s, p2s_v, p1, p1_v):
    """The step intrinsics' penalty arguments as int16: the paths' previous minima ``m``,
    ``m + P2`` per path, and P1."""
    ms = [builder.trunc(context.cast(builder, builder.extract_value(mins_v, i), mins[i],
                                     types.int64), _I16) for i in range(k)]
    p2 = [builder.trunc(context.cast(builder, builder.extract_value(p2s_v, i), p2s[i],
                                     types.int64), _I16) for i in range(k)]
    js = [builder.add(m, q) for m, q in zip(ms, p2)]
    q1 = builder.trunc(context.cast(builder, p1_v, p1, types.int64), _I16)
    return ms, js, q1


def _block_loop(builder, k, limit, name, block):
    """Emit the loop over 32-lane blocks at ``j = 0, 32, ...`` while ``j < limit``;
    ``block(j, accs)`` emits one block and returns the ``k`` paths' new running-minimum
    vectors. Returns those accumulators (BIG when no block ran), with the builder at the
    loop's exit."""
    big32 = ir.Constant(ir.VectorType(_I16, 32), [_BIG] * 32)
    pre = builder.block
    head = builder.append_basic_block(name + ".head")
    body = builder.append_basic_block(name + ".body")
    tail = builder.append_basic_block(name + ".tail")
    builder.branch(head)
    builder.position_at_end(head)
    jphi = builder.phi(_I64)
    jphi.add_incoming(ir.Constant(_I64, 0), pre)
    aphis = []
    for _ in range(k):
        a = builder.phi(big32.type)
        a.add_incoming(big32, pre)
        aphis.append(a)
    builder.cbranch(builder.icmp_unsigned("<", jphi, limit), body, tail)
    builder.position_at_end(body)
    new = block(jphi, aphis)
    jphi.add_incoming(builder.add(jphi, ir.Constant(_I64, 32)), builder.block)
    for a, v in zip(aphis, new):
        a.add_incoming(v, builder.block)
    builder.branch(head)
    builder.position_at_end(tail)
    return aphis


def _minima_result(context, builder, ret, k, incoming):
    """The step intrinsics' return value: per path, a phi of the int16 minima arriving as
    ``(values, block)`` pairs (one value per path from each predecessor block)."""
    out_vals = []
    for i in range(k):
        phi = builder.phi(_I16)
        for vals, block in incoming:
            phi.add_incoming(vals[i], block)
        out_vals.append(phi)
    if k == 1:
        return out_vals[0]
    return context.make_tuple(builder, ret, out_vals)


def _make_walk(k, stream=False):
    # the path steps of the row walks (path 0 horizontal); see path_steps_K_s below
    def impl(typingctx, c, part, out, srcs, dsts, mins, p2s, p1, nd):
        ret = types.int16 if k == 1 else types.UniTuple(types.int16, k)
        sig = ret(c, part, out, srcs, dsts, mins, p2s, p1, nd)

        def codegen(context, builder, signature, args):
            c_v, part_v, out_v, srcs_v, dsts_v, mins_v, p2s_v, p1_v, nd_v = args
            cp = _ptr(context, builder, c, c_v)
            # streamed (phase 1): out = the sum of the paths, ``part`` is not read
            pp = None if stream else _ptr(context, builder, part, part_v)
            op = _ptr(context, builder, out, out_v)
            sp = [_ptr(context, builder, srcs[i], builder.extract_value(srcs_v, i)) for i in range(k)]
            dp = [_ptr(context, builder, dsts[i], builder.extract_value(dsts_v, i)) for i in range(k)]
            ms, js, q1 = _penalties(context, builder, k, mins, mins_v, p2s, p2s_v, p1, p1_v)
            nd16 = builder.trunc(context.cast(builder, nd_v, nd, types.int64), _I16)
            ndp = cgutils.unpack_tuple(builder, context.make_array(c)(context, builder, c_v).shape, 1)[0]
            c32 = ir.Constant(_I64, 32)
            carried = True       # path 0's source is the previous pixel's destination
            wide = builder.append_basic_block("walk.wide")
            narrow = builder.append_basic_block("walk.narrow")
            done = builder.append_basic_block("walk.done")
            builder.cbranch(builder.icmp_unsigned("<", ndp, c32), narrow, wide)
            # Dp >= 32: 32-lane blocks at 0, 32, ... below Dp - 32, then one at Dp - 32
            # (overlapping the previous one when Dp is an odd multiple of 16: the sources
            # are not destinations and out = part + sum, so recomputed lanes store the same
            # values, and the minima do not change). Only that last block can hold the
            # sentinel entry nd + 1 (Dp - 16 < nd <= Dp), and one reduction per path
            # remains (a separate 16-lane block cost as much as a 32-lane one, plus its
            # own reductions).
            builder.position_at_end(wide)
            last = builder.sub(ndp, c32)
            aphis = _block_loop(builder, k, last, "walk", lambda j, accs: _block(
                builder, 32, j, cp, pp, op, sp, dp, q1, ms, js, accs, stream, carried=carried))
            fin = _block(builder, 32, last, cp, pp, op, sp, dp, q1, ms, js, aphis, stream,
                         carried=carried, nd16=nd16)
            rw = [_reduce_smin(builder, a) for a in fin]
            wide_end = builder.block
            builder.branch(done)
            # Dp == 16: one 16-lane block
            builder.position_at_end(narrow)
            r16 = _block(builder, 16, ir.Constant(_I64, 0), cp, pp, op, sp, dp, q1, ms, js,
                         [None] * k, stream, carried=carried, nd16=nd16)
            rn = [_reduce_smin(builder, v) for v in r16]
            narrow_end = builder.block
            builder.branch(done)
            builder.position_at_end(done)
            return _minima_result(context, builder, ret, k, ((rw, wide_end), (rn, narrow_end)))

        return sig, codegen

    return impl


# path_steps_K_s(c, part, out, srcs, dsts, mins, p2s, p1, nd) (and _s_nt): K path steps of
# one pixel of a row walk, where path 0 is the horizontal one (its source is the previous
# pixel's destination) and every destination gets its BIG sentinel at entry nd + 1 stored
# with the vector (the returned minima still include the computed value of that entry).
# Needs Dp - 32 <= nd <= Dp (only the last 32-lane block stores the sentinel; the sweeps
# pad to a multiple of 16). _s_nt: non-temporal stores of ``out`` = the sum of the paths
# (partial sums for the other sweep, phase 1); ``part`` is not read.
path_steps_1_s = intrinsic(_make_walk(1))
path_steps_2_s = intrinsic(_make_walk(2))
path_steps_4_s = intrinsic(_make_walk(4))
path_steps_1_s_nt = intrinsic(_make_walk(1, True))
path_steps_2_s_nt = intrinsic(_make_walk(2, True))
path_steps_4_s_nt = intrinsic(_make_walk(4, True))


@intrinsic
def store_fence(typingctx):
    """A full memory fence (``mfence`` on x86): orders the non-temporal stores before
    later stores (once per row, so the other thread sees the partial sums after the phase
    barrier whatever the barrier's own ordering guarantees)."""
    sig = types.void()

    def codegen(context, builder, signature, args):
        builder.fence("seq_cst")
        return context.get_dummy_value()

    return sig, codegen


# ------------------------------------------------------------------ selection reductions
# Reductions over one pixel's uint16 cost vector (Dp entries, the first nd real; the padding
# lanes k >= nd are treated as the sentinel 65535 without being read as costs). Exactly
# the reductions of select_row_u16's earlier scalar loops; LLVM compiled those with 64-bit
# keys (8 lanes per vector) and scalar epilogues.

_U16MAX = 65535


def _iota(n, start=0):
    return ir.Constant(ir.VectorType(_I16, n), [start + i for i in range(n)])


def _lanes(builder, n, j):
    # the disparity index of each lane of the block at j, as int16 (Dp < 32768)
    return builder.add(_splat(builder, builder.trunc(j, _I16), n), _iota(n))


def _masked_costs(builder, row, j, n, nd16):
    # the block's costs with padding lanes (k >= nd) replaced by the sentinel
    v = _vload(builder, row, _I16, j, n)
    k = _lanes(builder, n, j)
    keep = builder.icmp_unsigned("<", k, _splat(builder, nd16, n))
    return builder.select(keep, v, ir.Constant(v.type, [_U16MAX] * n)), k


def _row(context, builder, aryty, val, x, xty):
    # pointer to row x of a C-contiguous 2-D array, and the row length (Dp). Taking the
    # 2-D array and an index (not a row view) keeps Numba from reference-counting a view
    # per pixel (an atomic on the array's shared counter, contended between the threads).
    ary = context.make_array(aryty)(context, builder, val)
    ndp = cgutils.unpack_tuple(builder, ary.shape, 2)[1]
    xi = context.cast(builder, x, xty, types.int64)
    return builder.gep(ary.data, [builder.mul(xi, ndp)], inbounds=True, source_etype=_I16), ndp


def _reduce(builder, op, v):
    n = v.type.count
    fnty = ir.FunctionType(_I16, [v.type])
    fn = cgutils.get_or_insert_function(builder.module, fnty, f"llvm.vector.reduce.{op}.v{n}i16")
    return builder.call(fn, [v])


def _umin(builder, a, b):
    return builder.select(builder.icmp_unsigned("<", a, b), a, b)


def _blocks(builder, ndp, init32, step):
    # runs step(builder, n, j, accs) -> accs over the 32-lane blocks of [0, ndp) and then
    # the 16-lane rest (if any; Dp is a multiple of 16); returns (accs after the 32-lane
    # loop, accs of the 16-lane block or None, was-there-a-rest flag block pair)
    pre = builder.block
    head = builder.append_basic_block("blk.head")
    body = builder.append_basic_block("blk.body")
    done = builder.append_basic_block("blk.done")
    nfull = builder.and_(ndp, ir.Constant(_I64, ~31))
    builder.branch(head)
    builder.position_at_end(head)
    jphi = builder.phi(_I64)
    jphi.add_incoming(ir.Constant(_I64, 0), pre)
    phis = []
    for a in init32:
        p = builder.phi(a.type)
        p.add_incoming(a, pre)
        phis.append(p)
    builder.cbranch(builder.icmp_unsigned("<", jphi, nfull), body, done)
    builder.position_at_end(body)
    new = step(builder, 32, jphi, phis)
    jphi.add_incoming(builder.add(jphi, ir.Constant(_I64, 32)), builder.block)
    for p, v in zip(phis, new):
        p.add_incoming(v, builder.block)
    builder.branch(head)
    builder.position_at_end(done)
    return phis, nfull


def _with_rest(builder, ndp, nfull, scalars, rest):
    # scalars: values after the 32-lane loop; rest(builder, j) -> updated scalars for the
    # 16-lane block at j = nfull, run only when nfull < ndp
    before = builder.block
    with builder.if_then(builder.icmp_unsigned("<", nfull, ndp)):
        upd = rest(builder, nfull)
        then = builder.block
    out = []
    for a, b in zip(scalars, upd):
        p = builder.phi(a.type)
        p.add_incoming(a, before)
        p.add_incoming(b, then)
        out.append(p)
    return out

def _second_best_ir(builder, rp, ndp, nd16, kb64):
    # smallest cost among lanes k < nd with |k - kb| > 1, as i64 (65535 if none); lanes
    # with k - (kb - 1) < 3 (unsigned) are the winner and its neighbours
    kb1 = builder.trunc(builder.sub(kb64, ir.Constant(_I64, 1)), _I16)
    top = ir.Constant(ir.VectorType(_I16, 32), [_U16MAX] * 32)

    def s(b, n, j, accs):
        v, k = _masked_costs(b, rp, j, n, nd16)
        near = b.icmp_unsigned("<", b.sub(k, _splat(b, kb1, n)), _splat(b, ir.Constant(_I16, 3), n))
        v = b.select(near, ir.Constant(v.type, [_U16MAX] * n), v)
        return [_umin(b, accs[0], v)]

    (acc,), nfull = _blocks(builder, ndp, [top], s)
    r = _with_rest(builder, ndp, nfull, [_reduce(builder, "umin", acc)],
                   lambda b, j: [_umin(b, _reduce(b, "umin", s(b, 16, j, [ir.Constant(
                       ir.VectorType(_I16, 16), [_U16MAX] * 16)])[0]), _reduce(b, "umin", acc))])[0]
    return builder.zext(r, _I64)


def _best_index_ir(builder, rp, ndp, nd16):
    # (best, kb) as i64: one pass over uint32 keys cost << 16 | k, 32-lane blocks as two
    # 16-lane key vectors; the smallest key is the smallest cost, ties to the smallest k
    i32 = ir.IntType(32)
    top = ir.Constant(ir.VectorType(i32, 16), [0xFFFFFFFF] * 16)

    def s(b, n, j, accs):
        out = accs[0]
        for h in range(0, n, 16):
            jh = b.add(j, ir.Constant(_I64, h))
            v, k = _masked_costs(b, rp, jh, 16, nd16)
            key = b.or_(b.shl(b.zext(v, ir.VectorType(i32, 16)), _splat(b, ir.Constant(i32, 16), 16)),
                        b.zext(k, ir.VectorType(i32, 16)))
            out = b.select(b.icmp_unsigned("<", key, out), key, out)
        return [out]

    (acc,), nfull = _blocks(builder, ndp, [top], s)
    before = builder.block
    with builder.if_then(builder.icmp_unsigned("<", nfull, ndp)):
        acc2 = s(builder, 16, nfull, [acc])[0]
        then = builder.block
    p = builder.phi(acc.type)
    p.add_incoming(acc, before)
    p.add_incoming(acc2, then)
    fnty = ir.FunctionType(i32, [p.type])
    fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.vector.reduce.umin.v16i32")
    kmin = builder.call(fn, [p])
    best = builder.zext(builder.lshr(kmin, ir.Constant(i32, 16)), _I64)
    kb = builder.zext(builder.and_(kmin, ir.Constant(i32, 0xFFFF)), _I64)
    return best, kb


@intrinsic
def second_best(typingctx, costs, x, nd, kb):
    """Smallest cost of row ``x`` of a uint16 (W, Dp) array among k < nd with
    |k - kb| > 1 (65535 if none), int64."""
    sig = types.int64(costs, x, nd, kb)

    def codegen(context, builder, signature, args):
        row_v, x_v, nd_v, kb_v = args
        rp, ndp = _row(context, builder, costs, row_v, x_v, x)
        nd16 = builder.trunc(context.cast(builder, nd_v, nd, types.int64), _I16)
        kb64 = context.cast(builder, kb_v, kb, types.int64)
        return _second_best_ir(builder, rp, ndp, nd16, kb64)

    return sig, codegen


@intrinsic
def right_winners_update(typingctx, costs, x, nd, rcost, ridx, j0):
    """Fold the costs of left pixel ``x`` (row x of a uint16 (W, Dp) array) into the right
    image's running winners.

    Cell k of the pixel updates entry ``j0 + k`` of ``rcost``/``ridx`` (uint16; the
    caller lays them out so that an entry is one right-image column) when its
    ``(cost, k)`` is smaller (cost first, then k), so the entry ends up with the minimum
    of the keys ``cost << 16 | k`` whatever the order the pixels are folded in. Sentinel
    (65535) and padding cells never update (``ridx`` must be initialised where
    ``rcost`` is not 65535 only). ``rcost``/``ridx`` need ``j0 + Dp``
    entries.
    """
    sig = types.void(costs, x, nd, rcost, ridx, j0)

    def codegen(context, builder, signature, args):
        row_v, x_v, nd_v, rc_v, ri_v, j0_v = args
        rp, ndp = _row(context, builder, costs, row_v, x_v, x)
        cp = _ptr(context, builder, rcost, rc_v)
        ip = _ptr(context, builder, ridx, ri_v)
        nd16 = builder.trunc(context.cast(builder, nd_v, nd, types.int64), _I16)
        base = context.cast(builder, j0_v, j0, types.int64)

        def s(b, n, j, accs):
            v, k = _masked_costs(b, rp, j, n, nd16)
            e = b.add(base, j)
            rc = _vload(b, cp, _I16, e, n)
            ri = _vload(b, ip, _I16, e, n)
            less = b.or_(b.icmp_unsigned("<", v, rc),
                         b.and_(b.icmp_unsigned("==", v, rc), b.icmp_unsigned("<", k, ri)))
            _vstore(b, b.select(less, v, rc), cp, _I16, e)
            _vstore(b, b.select(less, k, ri), ip, _I16, e)
            return []

        _, nfull = _blocks(builder, ndp, [], s)
        with builder.if_then(builder.icmp_unsigned("<", nfull, ndp)):
            s(builder, 16, nfull, [])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def best_index(typingctx, costs, x, nd):
    """``(best, kb)`` of row ``x`` of a uint16 (W, Dp) array: the smallest cost among
    k < nd and the smallest k holding it (int64 each); best = 65535 when every real cell
    is the sentinel. One pass over uint32 keys ``cost << 16 | k`` (16 lanes): measured
    twice as fast as a minimum and then a search for its index (two dependent passes)."""
    sig = types.UniTuple(types.int64, 2)(costs, x, nd)

    def codegen(context, builder, signature, args):
        row_v, x_v, nd_v = args
        rp, ndp = _row(context, builder, costs, row_v, x_v, x)
        nd16 = builder.trunc(context.cast(builder, nd_v, nd, types.int64), _I16)
        best, kb = _best_index_ir(builder, rp, ndp, nd16)
        return context.make_tuple(builder, signature.return_type, [best, kb])

    return sig, codegen


@intrinsic
def prefetch_row(typingctx, arr, x):
    """Prefetch row ``x`` of a C-contiguous 2-D array (every cache line of it); a hint,
    no effect on results. The caller keeps ``x`` inside the array."""
    sig = types.void(arr, x)

    def codegen(context, builder, signature, args):
        a_v, x_v = args
        ary = context.make_array(arr)(context, builder, a_v)
        n = cgutils.unpack_tuple(builder, ary.shape, 2)[1]
        size = context.get_abi_sizeof(context.get_data_type(arr.dtype))
        xi = context.cast(builder, x_v, x, types.int64)
        i8p = ir.IntType(8).as_pointer()
        base = builder.bitcast(ary.data, i8p)
        start = builder.mul(builder.mul(xi, n), ir.Constant(_I64, size))
        nbytes = builder.mul(n, ir.Constant(_I64, size))
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        with cgutils.for_range_slice(builder, ir.Constant(_I64, 0), nbytes, ir.Constant(_I64, 64)) as (off, _):
            p = builder.gep(base, [builder.add(start, off)], inbounds=True, source_etype=ir.IntType(8))
            builder.call(fn, [p, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


# ====================================================================== offset variants
# Added for :mod:`stereo.kernels.sgm_interval` (ragged volumes, per-pixel intervals). Same
# arithmetic as the intrinsics above, but every array is passed whole with an element
# offset instead of as a row view: a view built per pixel inside the parallel kernel costs
# a reference-count atomic on the parent array's counter, shared by both threads.


def _ptr_at(context, builder, aryty, val, offty, off):
    # pointer to element ``off`` (flat, C order) of an array
    base = _ptr(context, builder, aryty, val)
    i = context.cast(builder, off, offty, types.int64)
    return builder.gep(base, [i], inbounds=True, source_etype=context.get_data_type(aryty.dtype))


def _block_at(builder, n, j, c, out, mode, srcs, dsts, q1, ms, js, accs):
    # as _block; mode "add": out[j] += sum of the paths, "stream": out[j] = sum with a
    # non-temporal store
    q1v = _splat(builder, q1, n)
    cj = builder.zext(_vload(builder, c, _I8, j, n), ir.VectorType(_I16, n))
    total = None
    new_accs = []
    one = ir.Constant(_I64, 1)
    two = ir.Constant(_I64, 2)
    for s, t, m, jj, acc in zip(srcs, dsts, ms, js, accs):
        s0 = _vload(builder, s, _I16, j, n)
        s1 = _vload(builder, s, _I16, builder.add(j, one), n)
        s2 = _vload(builder, s, _I16, builder.add(j, two), n)
        x = builder.add(_smin(builder, s0, s2), q1v)
        v = _smin(builder, _smin(builder, s1, x), _splat(builder, jj, n))
        v = builder.add(builder.sub(v, _splat(builder, m, n)), cj)
        _vstore(builder, v, t, _I16, builder.add(j, one))
        new_accs.append(_smin(builder, acc, v) if acc is not None else v)
        total = v if total is None else builder.add(total, v)
    if mode == "add":
        total = builder.add(_vload(builder, out, _I16, j, n), total)
    _vstore(builder, total, out, _I16, j, mode == "stream")
    return new_accs


def _make_at(k, mode):
    def impl(typingctx, c, o, out, a, srcs, soffs, dsts, doffs, mins, p2s, p1):
        ret = types.int16 if k == 1 else types.UniTuple(types.int16, k)
        sig = ret(c, o, out, a, srcs, soffs, dsts, doffs, mins, p2s, p1)

        def codegen(context, builder, signature, args):
            c_v, o_v, out_v, a_v, srcs_v, soffs_v, dsts_v, doffs_v, mins_v, p2s_v, p1_v = args
            cp = _ptr_at(context, builder, c, c_v, o, o_v)
            op = _ptr_at(context, builder, out, out_v, o, o_v)
            sp = [_ptr_at(context, builder, srcs[i], builder.extract_value(srcs_v, i), soffs[i],
                          builder.extract_value(soffs_v, i)) for i in range(k)]
            dp = [_ptr_at(context, builder, dsts[i], builder.extract_value(dsts_v, i), doffs[i],
                          builder.extract_value(doffs_v, i)) for i in range(k)]
            ms, js, q1 = _penalties(context, builder, k, mins, mins_v, p2s, p2s_v, p1, p1_v)
            ndp = context.cast(builder, a_v, a, types.int64)
            nfull = builder.and_(ndp, ir.Constant(_I64, ~31))
            aphis = _block_loop(builder, k, nfull, "sgmat", lambda j, accs: _block_at(
                builder, 32, j, cp, op, mode, sp, dp, q1, ms, js, accs))
            tail = builder.block
            res = [_reduce_smin(builder, ph) for ph in aphis]
            with builder.if_then(builder.icmp_unsigned("<", nfull, ndp)):
                r16 = _block_at(builder, 16, nfull, cp, op, mode, sp, dp, q1, ms, js, [None] * k)
                r16 = [_smin(builder, r, _reduce_smin(builder, v)) for r, v in zip(res, r16)]
                rblock = builder.block
            return _minima_result(context, builder, ret, k, ((res, tail), (r16, rblock)))

        return sig, codegen

    return impl


# path_steps_K_at(c, o, out, a, srcs, soffs, dsts, doffs, mins, p2s, p1): K path steps of
# one pixel whose ``a`` cells (a multiple of 16) start at element ``o`` of the cost row
# ``c`` (uint8) and of the sum row ``out`` (uint16); path i reads its source vector at
# ``srcs[i][soffs[i] + e]`` and writes ``dsts[i][doffs[i] + e]`` (e = 1 .. a, flat element
# offsets into int16 arrays). ``_add``: out += sum of the paths; ``_stream``: out = sum,
# stored non-temporally. Returns the path minima as path_steps_K.
path_steps_1_add = intrinsic(_make_at(1, "add"))
path_steps_2_add = intrinsic(_make_at(2, "add"))
path_steps_4_add = intrinsic(_make_at(4, "add"))
path_steps_1_stream = intrinsic(_make_at(1, "stream"))
path_steps_2_stream = intrinsic(_make_at(2, "stream"))
path_steps_4_stream = intrinsic(_make_at(4, "stream"))


@intrinsic
def best_index_at(typingctx, costs, o, a, nd):
    """:func:`best_index` of the ``a`` cells (a multiple of 16) at element ``o`` of a
    uint16 array (``nd <= a`` real ones): ``(best, kb)``, int64 each."""
    sig = types.UniTuple(types.int64, 2)(costs, o, a, nd)

    def codegen(context, builder, signature, args):
        row_v, o_v, a_v, nd_v = args
        rp = _ptr_at(context, builder, costs, row_v, o, o_v)
        ndp = context.cast(builder, a_v, a, types.int64)
        nd16 = builder.trunc(context.cast(builder, nd_v, nd, types.int64), _I16)
        best, kb = _best_index_ir(builder, rp, ndp, nd16)
        return context.make_tuple(builder, signature.return_type, [best, kb])

    return sig, codegen


@intrinsic
def second_best_at(typingctx, costs, o, a, nd, kb):
    """:func:`second_best` of the ``a`` cells (a multiple of 16) at element ``o`` of a
    uint16 array: the smallest cost among k < nd with |k - kb| > 1 (65535 if none), int64."""
    sig = types.int64(costs, o, a, nd, kb)

    def codegen(context, builder, signature, args):
        row_v, o_v, a_v, nd_v, kb_v = args
        rp = _ptr_at(context, builder, costs, row_v, o, o_v)
        ndp = context.cast(builder, a_v, a, types.int64)
        nd16 = builder.trunc(context.cast(builder, nd_v, nd, types.int64), _I16)
        kb64 = context.cast(builder, kb_v, kb, types.int64)
        return _second_best_ir(builder, rp, ndp, nd16, kb64)

    return sig, codegen


@intrinsic
def key_min_update_at(typingctx, costs, o, n, keys, j0, k0):
    """``keys[j0 + i] = min(keys[j0 + i], costs[o + i] << 16 | (k0 + i))`` for i in
    ``[0, n)`` rounded down to a multiple of 16 (uint16 costs, uint32 keys; the caller does
    the rest). Returns the number of entries done (int64)."""
    sig = types.int64(costs, o, n, keys, j0, k0)

    def codegen(context, builder, signature, args):
        c_v, o_v, n_v, k_v, j0_v, k0_v = args
        i32 = ir.IntType(32)
        v16 = ir.VectorType(i32, 16)
        cp = _ptr_at(context, builder, costs, c_v, o, o_v)
        kp = _ptr_at(context, builder, keys, k_v, j0, j0_v)
        nn = builder.and_(context.cast(builder, n_v, n, types.int64), ir.Constant(_I64, ~15))
        kbase = builder.add(_splat(builder, builder.trunc(context.cast(builder, k0_v, k0, types.int64), i32), 16),
                            ir.Constant(v16, list(range(16))))
        with cgutils.for_range_slice(builder, ir.Constant(_I64, 0), nn, ir.Constant(_I64, 16)) as (j, _):
            c = builder.zext(_vload(builder, cp, _I16, j, 16), v16)
            idx = builder.add(kbase, _splat(builder, builder.trunc(j, i32), 16))
            key = builder.or_(builder.shl(c, _splat(builder, ir.Constant(i32, 16), 16)), idx)
            old = _vload(builder, kp, i32, j, 16)
            _vstore(builder, builder.select(builder.icmp_unsigned("<", key, old), key, old), kp, i32, j)
        return nn

    return sig, codegen


@intrinsic
def prefetch_at(typingctx, arr, o, n):
    """Prefetch elements ``[o, o + n)`` of a C-contiguous array (every cache line of them);
    a hint, no effect on results. The caller keeps the range inside the array."""
    sig = types.void(arr, o, n)

    def codegen(context, builder, signature, args):
        a_v, o_v, n_v = args
        size = context.get_abi_sizeof(context.get_data_type(arr.dtype))
        i8p = ir.IntType(8).as_pointer()
        base = builder.bitcast(_ptr_at(context, builder, arr, a_v, o, o_v), i8p)
        nbytes = builder.mul(context.cast(builder, n_v, n, types.int64), ir.Constant(_I64, size))
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        with cgutils.for_range_slice(builder, ir.Constant(_I64, 0), nbytes, ir.Constant(_I64, 64)) as (off, _):
            p = builder.gep(base, [off], inbounds=True, source_etype=ir.IntType(8))
            builder.call(fn, [p, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen
