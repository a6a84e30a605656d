import { describe, expect, it } from 'vitest';
import { chooseSubnet, interfaceBlocks } from './subnets.js';

describe('chooseSubnet', () => {
  it("keeps the lab's subnet when nothing overlaps it", () => {
    expect(
      chooseSubnet('172.31.18.0/24', [{ subnet: '172.17.0.0/16', by: "docker network 'bridge'" }]),
    ).toEqual({ subnet: '172.31.18.0/24' });
  });

  it('moves to the next free block of the same size and says what took the wanted one', () => {
    const used = [
      { subnet: '172.31.18.0/24', by: "docker network 'other-lab'" },
      { subnet: '172.31.19.0/25', by: 'interface eth1' },
    ];
    expect(chooseSubnet('172.31.18.0/24', used)).toEqual({
      subnet: '172.31.20.0/24',
      moved: { from: '172.31.18.0/24', by: "docker network 'other-lab'" },
    });
  });

  it('treats a larger block containing the subnet as a clash', () => {
    const choice = chooseSubnet('172.31.18.0/24', [{ subnet: '172.31.0.0/16', by: 'x' }]);
    expect(choice?.subnet).toBe('172.16.0.0/24');
  });

  it('wraps around the pool, and gives up when the whole pool is taken', () => {
    expect(chooseSubnet('172.31.255.0/24', [{ subnet: '172.31.255.0/24', by: 'x' }])?.subnet).toBe(
      '172.16.0.0/24',
    );
    expect(chooseSubnet('172.31.18.0/24', [{ subnet: '172.16.0.0/12', by: 'vpn' }])).toBeUndefined();
  });
});

describe('interfaceBlocks', () => {
  it('turns IPv4 interface addresses into their blocks, leaving loopback and IPv6 out', () => {
    expect(
      interfaceBlocks({
        lo: [{ family: 'IPv4', cidr: '127.0.0.1/8' }],
        eth0: [
          { family: 'IPv4', cidr: '192.0.2.2/24' },
          { family: 'IPv6', cidr: 'fe80::1/64' },
        ],
        docker0: [{ family: 4, cidr: '172.17.0.1/16' }],
      }),
    ).toEqual([
      { subnet: '192.0.2.0/24', by: 'interface eth0' },
      { subnet: '172.17.0.0/16', by: 'interface docker0' },
    ]);
  });
});
