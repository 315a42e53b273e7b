"""Shared plumbing: model base, money, time, request transaction, errors, permissions, PDF."""
