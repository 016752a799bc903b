// Not an object or a list of objects: Argo CD refuses the output.
['a', 'b']
