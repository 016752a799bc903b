// Reads a file outside the student's repository: refused.
{
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'leak' },
  data: { stolen: importstr '../../outside.txt' },
}
