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
import './timer.js';
import './worker-api.js';
import './cjson.js';
import './misc.js';
import './time.js';
import './codec.js';
import './ndk.js';
