// Index of channel 0 at position `pos` of a tensor viewed as [outer, channels, inner], with
// positions numbered over outer·inner; channel c sits c·inner further.
fn channel_base(pos: u32, channels: u32, inner: u32) -> u32 {
  return (pos / inner) * channels * inner + pos % inner;
}
