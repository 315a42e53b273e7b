"""Investment teams, memberships, and the policy of who may see a family."""
