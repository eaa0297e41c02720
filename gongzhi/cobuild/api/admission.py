from ninja import Router

router = Router(tags=["共驻共建 cobuild"])
