// Every ngx.* API group and JS-backed Lua module; importing a module registers it.
import './constants.js';
import './props.js';
import './print.js';
import './control.js';
import './log.js';
import './args.js';
import './var.js';
import './header.js';
import './req.js';
import './location.js';
import './socket.js';
import './timer.js';
import './thread.js';
import './abort.js';
import './worker-api.js';
import './cjson.js';
import './misc.js';
import './time.js';
import './re.js';
import './codec.js';
import './ndk.js';
import './semaphore.js';
import './resty-crypto.js';
// its installer also loads resty.core (which needs no other API group) into each new VM
import './resty-core.js';
import './resty-redis.js';
import './resty-websocket.js';
