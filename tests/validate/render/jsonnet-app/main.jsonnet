// Argo CD evaluates every top-level .jsonnet file of a plain directory.
local lib = import 'lib.libsonnet';
[
  lib.configMap('settings'),
  {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'debug' },
    spec: {
      containers: [{
        name: 'shell',
        image: 'busybox:1.36',
        resources: { limits: { cpu: '100m', memory: '64Mi' } },
        securityContext: {
          privileged: true,
        },
      }],
    },
  },
]
