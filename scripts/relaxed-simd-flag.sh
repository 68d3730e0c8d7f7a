# Sourced by scripts/test.sh and scripts/test-wasm.sh. relaxed_simd_node_flag prints the flag
# this `node` needs to run relaxed-SIMD wasm (--experimental-wasm-relaxed-simd on Node 20), or
# nothing when it validates such a module without one (Node 22 and newer).

# A module with one f32x4.relaxed_madd.
RELAXED_SIMD_PROBE='WebAssembly.validate(new Uint8Array([0,97,115,109,1,0,0,0,1,5,1,96,0,1,123,3,2,1,0,10,19,1,17,0,65,0,253,15,65,0,253,15,65,0,253,15,253,133,2,11]))'

relaxed_simd_node_flag() {
  node -e "process.exit($RELAXED_SIMD_PROBE ? 0 : 1)" || echo --experimental-wasm-relaxed-simd
}
