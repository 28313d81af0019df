// A clock read once per event-loop turn, like nginx's ngx_current_msec (updated once per
// epoll_wait return). Clock reads cost a syscall on some VMs (hundreds of ns); every request
// of one I/O batch shares one read.
let cached = 0;
let valid = false;

function expire(): void {
  valid = false;
}

/** Date.now(), read at most once per event-loop turn. */
export function loopNow(): number {
  if (!valid) {
    cached = Date.now();
    valid = true;
    setImmediate(expire);
  }
  return cached;
}
