"""edgesim: moto plus the AWS behaviour edgeship's tests and demo need.

Importing the submodules patches moto in this process; nothing here is a
second implementation of an AWS service where moto already has one.
"""
