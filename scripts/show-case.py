#!/usr/bin/env python3
"""Print a conformance case (config, request, expectations): scripts/show-case.py '005-exit.t#19'"""
import json, glob, sys, os
root = os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'compat', 'cases')
want = set(sys.argv[1:])
for f in sorted(glob.glob(os.path.join(root, '*.json'))):
    for c in json.load(open(f))['cases']:
        if c['id'] in want:
            print('=====', c['id'], c['name'])
            for k in ('main_config', 'http_config', 'config'):
                if c.get(k): print('--', k); print(c[k] if isinstance(c[k], str) else c[k])
            for conn in c['connections']:
                for p in conn['packets']:
                    print('-- request:', repr(p['data'])[:300])
            print('-- expect:', json.dumps(c['expect'])[:600])
            print('-- logs:', json.dumps(c.get('logs'))[:600])
