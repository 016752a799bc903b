// Imported only: a .libsonnet is not evaluated on its own.
{
  configMap(name):: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: name }, data: { a: 'b' } },
}
