# No tables. The module exists so that Django sends this app's post_migrate signal, which keeps
# the operator roles (console/roles.py) in step with the models.
